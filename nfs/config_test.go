package nfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithDefaults(t *testing.T) {
	got := Config{}.WithDefaults()
	assert.Equal(t, Config{Mode: ModeHostPath, HostPath: "/srv/dswarm", Target: "/srv/dswarm"}, got)

	set := Config{Mode: ModeNFS, HostPath: "/mnt/a", Target: "/data"}
	assert.Equal(t, set, set.WithDefaults())
}

func TestValidate(t *testing.T) {
	goodNFS := NFS{Server: "nas.lan", Export: "/export/dswarm"}
	goodCIFS := CIFS{Server: "nas.lan", Share: "dswarm", CredentialsFile: "/run/secrets/cifs"}
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{name: "zero value is hostpath", cfg: Config{}},
		{name: "hostpath elsewhere", cfg: Config{HostPath: "/mnt/nfs/dswarm", Target: "/data"}},
		{name: "hostpath ignores unused share settings", cfg: Config{NFS: NFS{Server: "x y"}}},
		{name: "nfs", cfg: Config{Mode: ModeNFS, NFS: goodNFS}},
		{name: "nfs ipv6 server", cfg: Config{Mode: ModeNFS, NFS: NFS{Server: "fd00::5", Export: "/e"}}},
		{name: "nfs own options", cfg: Config{Mode: ModeNFS, NFS: NFS{Server: "10.0.0.2", Export: "/e", Options: []string{"ro", "nfsvers=4.2", "soft"}}}},
		{name: "cifs", cfg: Config{Mode: ModeCIFS, CIFS: goodCIFS}},
		{name: "cifs guest needs no credentials", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "pub", Options: []string{"guest"}}}},
		{name: "cifs share with folder", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "media/dswarm", CredentialsFile: "/c"}}},
		{name: "named volume", cfg: Config{Mode: ModeNFS, NFS: goodNFS, Volume: "dswarm-data"}},

		{name: "unknown mode", cfg: Config{Mode: "smb"}, want: []string{`unknown storage mode "smb"`, "hostpath, nfs or cifs"}},
		{name: "relative host path", cfg: Config{HostPath: "srv/dswarm"}, want: []string{`host path "srv/dswarm" is not an absolute path`}},
		{name: "root host path", cfg: Config{HostPath: "/"}, want: []string{"host path is /"}},
		{name: "unclean target", cfg: Config{Target: "/srv/dswarm/"}, want: []string{`target "/srv/dswarm/" is not clean (want "/srv/dswarm")`}},
		{name: "comma in path", cfg: Config{HostPath: "/srv/a,b"}, want: []string{"contains a comma"}},
		{name: "bad volume name", cfg: Config{Mode: ModeNFS, NFS: goodNFS, Volume: "-x"}, want: []string{`volume name "-x"`}},
		{name: "nfs without server and export", cfg: Config{Mode: ModeNFS}, want: []string{"nfs: no server given", "nfs export is empty"}},
		{name: "nfs server with path", cfg: Config{Mode: ModeNFS, NFS: NFS{Server: "nas:/export", Export: "/e"}}, want: []string{`server "nas:/export" is not a host name`}},
		{name: "nfs addr option", cfg: Config{Mode: ModeNFS, NFS: NFS{Server: "nas", Export: "/e", Options: []string{"addr=1.2.3.4"}}}, want: []string{"mount option addr= is not allowed"}},
		{name: "nfs joined options", cfg: Config{Mode: ModeNFS, NFS: NFS{Server: "nas", Export: "/e", Options: []string{"rw,soft"}}}, want: []string{`mount option "rw,soft" contains a comma`}},
		{name: "cifs without credentials", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "s"}}, want: []string{"no credentials file given"}},
		{name: "cifs password option", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "s", CredentialsFile: "/c", Options: []string{"password=hunter2"}}}, want: []string{"password= is not allowed: it comes from the credentials file"}},
		{name: "cifs share with slashes", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "//nas/s", CredentialsFile: "/c"}}, want: []string{"without slashes"}},
		{name: "cifs relative credentials", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "s", CredentialsFile: "creds"}}, want: []string{`credentials file "creds" is not an absolute path`}},
		{name: "all problems at once", cfg: Config{Mode: ModeCIFS, Target: "x"}, want: []string{`target "x"`, "cifs: no server given", "no share name", "no credentials file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "storage: ")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

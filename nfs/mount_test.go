package nfs

import (
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMount(t *testing.T) {
	cred := Credentials{Username: "dswarm", Password: "s3cr,et", Domain: "LAN"}
	volume := func(name, target string, ro bool, mode string, opts map[string]string) mount.Mount {
		return mount.Mount{
			Type: mount.TypeVolume, Source: name, Target: target, ReadOnly: ro,
			VolumeOptions: &mount.VolumeOptions{
				NoCopy:       true,
				Labels:       map[string]string{"dswarm.storage": mode},
				DriverConfig: &mount.Driver{Name: "local", Options: opts},
			},
		}
	}
	tests := []struct {
		name string
		cfg  Config
		cred Credentials
		want mount.Mount
	}{
		{
			name: "hostpath default",
			cfg:  Config{},
			want: mount.Mount{Type: mount.TypeBind, Source: "/srv/dswarm", Target: "/srv/dswarm"},
		},
		{
			name: "hostpath elsewhere, read-only",
			cfg:  Config{HostPath: "/mnt/nas/dswarm", Target: "/data", ReadOnly: true},
			want: mount.Mount{Type: mount.TypeBind, Source: "/mnt/nas/dswarm", Target: "/data", ReadOnly: true},
		},
		{
			name: "nfs default options",
			cfg:  Config{Mode: ModeNFS, NFS: NFS{Server: "192.168.1.10", Export: "/export/dswarm"}, Volume: "dswarm-data"},
			want: volume("dswarm-data", "/srv/dswarm", false, "nfs", map[string]string{
				"type": "nfs", "o": "addr=192.168.1.10,rw,nfsvers=4", "device": ":/export/dswarm",
			}),
		},
		{
			name: "nfs own options",
			cfg:  Config{Mode: ModeNFS, NFS: NFS{Server: "nas.lan", Export: "/e", Options: []string{"rw", "nfsvers=4.1", "soft", "timeo=100"}}, Volume: "v1"},
			want: volume("v1", "/srv/dswarm", false, "nfs", map[string]string{
				"type": "nfs", "o": "addr=nas.lan,rw,nfsvers=4.1,soft,timeo=100", "device": ":/e",
			}),
		},
		{
			name: "cifs with noperm, comma in password doubled",
			cfg:  Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "media/dswarm", CredentialsFile: "/run/secrets/cifs", NoPerm: true, Options: []string{"vers=3.0"}}, Volume: "v2", Target: "/data"},
			cred: cred,
			want: volume("v2", "/data", false, "cifs", map[string]string{
				"type": "cifs", "o": "addr=nas,username=dswarm,password=s3cr,,et,domain=LAN,noperm,vers=3.0", "device": "//nas/media/dswarm",
			}),
		},
		{
			name: "cifs guest takes no credentials",
			cfg:  Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "pub", Options: []string{"guest"}}, Volume: "v3"},
			cred: cred,
			want: volume("v3", "/srv/dswarm", false, "cifs", map[string]string{
				"type": "cifs", "o": "addr=nas,guest", "device": "//nas/pub",
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.Mount(tt.cred)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestMountErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		cred Credentials
		want string
	}{
		{name: "invalid config", cfg: Config{Mode: ModeNFS}, want: "storage: nfs: no server given"},
		{
			name: "cifs without username",
			cfg:  Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "s", CredentialsFile: "/c"}},
			want: "storage: cifs credentials from /c: no username",
		},
		{
			name: "cifs username with comma",
			cfg:  Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "s", CredentialsFile: "/c"}},
			cred: Credentials{Username: "a,b", Password: "p"},
			want: "username contains a comma",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cfg.Mount(tt.cred)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDerivedVolumeName(t *testing.T) {
	nfs := Config{Mode: ModeNFS, NFS: NFS{Server: "nas", Export: "/export/dswarm"}}
	name := func(c Config, cred Credentials) string {
		t.Helper()
		m, err := c.Mount(cred)
		require.NoError(t, err)
		return m.Source
	}

	a := name(nfs, Credentials{})
	assert.Regexp(t, `^dswarm-storage-nfs-[0-9a-f]{12}$`, a)
	assert.Equal(t, a, name(nfs, Credentials{}), "same options, same name")

	other := nfs
	other.NFS.Options = []string{"ro", "nfsvers=4"}
	assert.NotEqual(t, a, name(other, Credentials{}), "other options need another volume")

	cifs := Config{Mode: ModeCIFS, CIFS: CIFS{Server: "nas", Share: "s", CredentialsFile: "/c", NoPerm: true}}
	b := name(cifs, Credentials{Username: "u", Password: "one,two"})
	assert.Regexp(t, `^dswarm-storage-cifs-[0-9a-f]{12}$`, b)
	assert.NotEqual(t, b, name(cifs, Credentials{Username: "u", Password: "three"}), "a volume keeps its old password: a new one needs a new volume")
	assert.NotEqual(t, b, name(cifs, Credentials{Username: "v", Password: "three"}), "another user gets another volume")
}

func TestConfined(t *testing.T) {
	bind := mount.Mount{Type: mount.TypeBind, Source: "/srv/dswarm", Target: "/data"}
	got, err := Confined(bind, []string{"tmp/.dswarm-j1", "tmp/.dswarm-j1"}, []string{"download/.dswarm-j1-out.mkv"})
	require.NoError(t, err)
	assert.Equal(t, []mount.Mount{
		{Type: mount.TypeBind, Source: "/srv/dswarm", Target: "/data", ReadOnly: true},
		{Type: mount.TypeBind, Source: "/srv/dswarm/tmp/.dswarm-j1", Target: "/data/tmp/.dswarm-j1"},
		{Type: mount.TypeBind, Source: "/srv/dswarm/download/.dswarm-j1-out.mkv", Target: "/data/download/.dswarm-j1-out.mkv"},
	}, got, "the storage read-only, the job's folder and its one output file writable, each once")

	for _, bad := range []string{"../etc", "/etc", ".", "", "tmp/../../x"} {
		_, err := Confined(bind, []string{bad}, nil)
		assert.Error(t, err, "%q leaves the storage", bad)
	}

	nfsRoot, err := Config{Mode: ModeNFS, Target: "/data", NFS: NFS{Server: "nas", Export: "/export/dswarm"}}.Mount(Credentials{})
	require.NoError(t, err)
	got, err = Confined(nfsRoot, []string{"tmp/.dswarm-j1"}, []string{"download/.dswarm-j1-out.mkv"})
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.True(t, got[0].ReadOnly)
	assert.False(t, nfsRoot.ReadOnly, "the caller's mount is not changed")
	job, dl := got[1], got[2]
	assert.Equal(t, "/data/tmp/.dswarm-j1", job.Target)
	assert.False(t, job.ReadOnly)
	assert.Equal(t, ":/export/dswarm/tmp/.dswarm-j1", job.VolumeOptions.DriverConfig.Options["device"], "NFSv4 mounts a folder of the export")
	assert.Equal(t, nfsRoot.VolumeOptions.DriverConfig.Options["o"], job.VolumeOptions.DriverConfig.Options["o"])
	assert.NotEqual(t, nfsRoot.Source, job.Source, "a volume of its own: same name would mean same options")
	assert.Equal(t, "/data/download", dl.Target, "a volume cannot be a file: its folder is writable")
	assert.Equal(t, ":/export/dswarm/download", dl.VolumeOptions.DriverConfig.Options["device"])

	cifsRoot := mount.Mount{Type: mount.TypeVolume, Source: "v", Target: "/data", VolumeOptions: &mount.VolumeOptions{
		DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "cifs", "device": "//nas/media/", "o": "vers=3.0"}}}}
	got, err = Confined(cifsRoot, []string{"tmp/.dswarm-j1"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "//nas/media/tmp/.dswarm-j1", got[1].VolumeOptions.DriverConfig.Options["device"])

	_, err = Confined(mount.Mount{Type: mount.TypeVolume, Source: "named", Target: "/data"}, []string{"tmp/x"}, nil)
	assert.Error(t, err, "a volume without driver options cannot be narrowed")
}

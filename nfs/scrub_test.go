package nfs

import (
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dockerMountError is what Docker 20.10 answered on this machine (no kernel
// CIFS) for a local volume of type cifs, as `docker run` and a swarm task's
// error show it.
const dockerMountError = `starting container failed: error while mounting volume '/var/lib/docker/volumes/dswarm-cifs-1a2b/_data': failed to mount local volume: mount //127.0.0.1/share:/var/lib/docker/volumes/dswarm-cifs-1a2b/_data, data: addr=127.0.0.1,username=bob,password=Pa,,ss: w0rd KNOWN1,domain=W: no such device`

func TestScrub(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		secrets  []string
		gone     []string // must not survive
		kept     []string // must survive
	}{
		{"docker mount error", dockerMountError, nil,
			[]string{"Pa,,ss", "w0rd", "KNOWN1", "username=bob"},
			[]string{"no such device", "failed to mount local volume", "mount //127.0.0.1/share", "data: [hidden]: no such device"}},
		{"mount options in a spec", `volume options: type=cifs o=addr=srv,username=bob,password=Pa,,ss!,domain=W device=//srv/s`, nil,
			[]string{"Pa,,ss!"}, []string{"password=[hidden],domain=W", "username=bob"}},
		{"pass= and credentials=", `mount.cifs: pass=hunter2 credentials=/etc/smb.cred`, nil,
			[]string{"hunter2", "/etc/smb.cred"}, []string{"pass=[hidden]", "credentials=[hidden]"}},
		{"quoted", `PASSWORD="two words" token='abc def'`, nil,
			[]string{"two words", "abc def"}, []string{"PASSWORD=[hidden]", "token=[hidden]"}},
		{"url query", `GET /?token=s3cret&x=1`, nil, []string{"s3cret"}, []string{"token=[hidden]&x=1"}},
		{"literal secret anywhere", `ffmpeg: hunter 2 is not a codec`, []string{"hunter 2"},
			[]string{"hunter 2"}, []string{"is not a codec"}},
		{"literal secret with a comma, escaped", `o=x,y=Pa,,ss z`, []string{"Pa,ss z"},
			[]string{"Pa,,ss z"}, []string{"y=[hidden]"}},
		{"ordinary ffmpeg error untouched", `segment 3 on node pi-2: ffmpeg exited 1: Unknown encoder 'libx999'`, nil,
			nil, []string{`segment 3 on node pi-2: ffmpeg exited 1: Unknown encoder 'libx999'`}},
		{"an option named like pass is not a key", `-passlogfile /x refused`, nil,
			nil, []string{"-passlogfile /x refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Scrub(tc.in, tc.secrets...)
			for _, g := range tc.gone {
				assert.NotContains(t, got, g)
			}
			for _, k := range tc.kept {
				assert.Contains(t, got, k)
			}
		})
	}
}

func TestMountSecretsFromCIFSVolume(t *testing.T) {
	cfg := Config{Mode: ModeCIFS, Target: "/srv/dswarm", CIFS: CIFS{Server: "srv", Share: "media", CredentialsFile: "/run/secrets/cifs"}}
	m, err := cfg.Mount(Credentials{Username: "bob", Password: "Pa,ss: w0rd"})
	require.NoError(t, err)
	secrets := MountSecrets([]mount.Mount{m})
	assert.Equal(t, []string{"Pa,ss: w0rd"}, secrets)
	// The volume's own options, scrubbed with them, keep no part of it.
	o := m.VolumeOptions.DriverConfig.Options["o"]
	require.Contains(t, o, "Pa,,ss: w0rd")
	got := Scrub("bad mount: o="+o+" (a space in it)", secrets...)
	for _, part := range []string{"Pa", "w0rd"} {
		assert.NotContains(t, got, part)
	}
	assert.True(t, strings.HasSuffix(got, "(a space in it)"), got)
}

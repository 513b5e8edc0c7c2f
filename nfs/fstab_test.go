package nfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNFSFstabLine(t *testing.T) {
	tests := []struct {
		name       string
		n          NFS
		mountpoint string
		want       string
	}{
		{
			name:       "defaults",
			n:          NFS{Server: "192.168.1.10", Export: "/export/dswarm"},
			mountpoint: "/srv/dswarm",
			want:       "192.168.1.10:/export/dswarm /srv/dswarm nfs rw,nfsvers=4,_netdev,x-systemd.automount 0 0",
		},
		{
			name:       "own options keep a given _netdev once",
			n:          NFS{Server: "nas.lan", Export: "/e", Options: []string{"rw", "_netdev", "soft"}},
			mountpoint: "/mnt/dswarm",
			want:       "nas.lan:/e /mnt/dswarm nfs rw,_netdev,soft,x-systemd.automount 0 0",
		},
		{
			name:       "ipv6 server in brackets, space escaped",
			n:          NFS{Server: "fd00::5", Export: "/export/my media"},
			mountpoint: "/srv/my media",
			want:       `[fd00::5]:/export/my\040media /srv/my\040media nfs rw,nfsvers=4,_netdev,x-systemd.automount 0 0`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.n.FstabLine(tt.mountpoint)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCIFSFstabLine(t *testing.T) {
	tests := []struct {
		name string
		s    CIFS
		want string
	}{
		{
			name: "credentials file and noperm",
			s:    CIFS{Server: "nas", Share: "dswarm", CredentialsFile: "/etc/dswarm/cifs-credentials", NoPerm: true},
			want: "//nas/dswarm /srv/dswarm cifs credentials=/etc/dswarm/cifs-credentials,noperm,_netdev,x-systemd.automount 0 0",
		},
		{
			name: "options, no noperm",
			s:    CIFS{Server: "192.168.1.5", Share: "media/dswarm", CredentialsFile: "/root/.smb", Options: []string{"vers=3.0", "uid=0", "gid=0"}},
			want: "//192.168.1.5/media/dswarm /srv/dswarm cifs credentials=/root/.smb,vers=3.0,uid=0,gid=0,_netdev,x-systemd.automount 0 0",
		},
		{
			name: "guest share with a space",
			s:    CIFS{Server: "nas", Share: "Public Files", Options: []string{"guest"}},
			want: `//nas/Public\040Files /srv/dswarm cifs guest,_netdev,x-systemd.automount 0 0`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.FstabLine("/srv/dswarm")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestFstabLineErrors(t *testing.T) {
	_, err := NFS{Server: "nas", Export: "/e"}.FstabLine("mnt")
	require.Error(t, err)
	assert.Equal(t, `fstab line: mount point "mnt" is not an absolute path`, err.Error())

	_, err = NFS{Export: "/e"}.FstabLine("/mnt")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "nfs: no server given")

	_, err = CIFS{Server: "nas", Share: "s", Options: []string{"password=x"}}.FstabLine("/mnt")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no credentials file given")
	assert.Contains(t, err.Error(), "password= is not allowed")
}

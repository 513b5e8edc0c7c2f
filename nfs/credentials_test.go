package nfs

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCredentials(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Credentials
		wantErr string
	}{
		{
			name: "full file",
			in:   "username=dswarm\npassword=pa ss=word \ndomain=LAN\n",
			want: Credentials{Username: "dswarm", Password: "pa ss=word ", Domain: "LAN"},
		},
		{
			name: "short keys, CRLF, comments and blank lines",
			in:   "# for the nas\r\n\r\n  user=dswarm\r\npass=x\r\ndom=WG\r\n",
			want: Credentials{Username: "dswarm", Password: "x", Domain: "WG"},
		},
		{name: "no password is allowed", in: "username=u", want: Credentials{Username: "u"}},
		{name: "no username", in: "password=x\n", wantErr: "no username= line"},
		{name: "not key=value", in: "username=u\nhunter2\n", wantErr: "line 2: want key=value"},
		{name: "unknown key", in: "username=u\nport=445\n", wantErr: `line 2: unknown key "port"`},
		{name: "empty", in: "", wantErr: "no username= line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCredentials([]byte(tt.in))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCredentialsHidePassword(t *testing.T) {
	c := Credentials{Username: "dswarm", Password: "hunter2", Domain: "LAN"}
	for _, format := range []string{"%v", "%s", "%+v", "%#v"} {
		out := fmt.Sprintf(format, c)
		assert.NotContains(t, out, "hunter2", format)
		assert.Contains(t, out, `LAN\dswarm`, format)
	}
	assert.Equal(t, "u (no password)", Credentials{Username: "u"}.String())
}

func TestReadCredentials(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cifs")
	require.NoError(t, os.WriteFile(file, []byte("username=u\npassword=p\n"), 0o600))

	got, err := ReadCredentials(file)
	require.NoError(t, err)
	assert.Equal(t, Credentials{Username: "u", Password: "p"}, got)

	_, err = ReadCredentials(filepath.Join(dir, "missing"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cifs credentials: open "+filepath.Join(dir, "missing"))

	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("password=p\n"), 0o600))
	_, err = ReadCredentials(bad)
	require.Error(t, err)
	assert.Equal(t, "cifs credentials "+bad+": no username= line", err.Error())
}

func TestLoadCredentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cifs")
	require.NoError(t, os.WriteFile(file, []byte("username=u\npassword=p\n"), 0o600))

	tests := []struct {
		name    string
		cfg     Config
		want    Credentials
		wantErr string
	}{
		{name: "hostpath needs none", cfg: Config{CIFS: CIFS{CredentialsFile: "/nonexistent"}}},
		{name: "nfs needs none", cfg: Config{Mode: ModeNFS}},
		{name: "cifs guest needs none", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{CredentialsFile: "/nonexistent", Options: []string{"guest"}}}},
		{name: "cifs reads the file", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{CredentialsFile: file}}, want: Credentials{Username: "u", Password: "p"}},
		{name: "cifs without file", cfg: Config{Mode: ModeCIFS}, wantErr: "no credentials file given"},
		{name: "cifs missing file", cfg: Config{Mode: ModeCIFS, CIFS: CIFS{CredentialsFile: "/nonexistent"}}, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.LoadCredentials()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

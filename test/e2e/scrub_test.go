//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/nfs"
)

// TestCIFSPasswordNeverShown runs the storage check with the storage as a
// CIFS volume whose password is known. No node here can mount CIFS (the
// kernel has no CIFS), so every task fails on the mount, and Docker 20.10
// quotes the volume's options, password included, in the task's error.
// What dswarm prints (text and JSON, stdout and stderr) names the cause and
// holds no part of the password.
func TestCIFSPasswordNeverShown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const password = "e2e-Pa,ss: w0rd"
	creds := filepath.Join(t.TempDir(), "cifs.cred")
	require.NoError(t, os.WriteFile(creds, []byte("username=dswarm\npassword="+password+"\n"), 0o600))
	nodeRoot := os.Getenv("DSWARM_STORAGE")
	if nodeRoot == "" {
		nodeRoot = "/srv/dswarm"
	}
	// The volume dswarm makes on every node, to check and remove it.
	cfg := nfs.Config{Mode: nfs.ModeCIFS, Target: nodeRoot, CIFS: nfs.CIFS{Server: "127.0.0.1", Share: "dswarm", CredentialsFile: creds}}
	cred, err := cfg.LoadCredentials()
	require.NoError(t, err)
	m, err := cfg.Mount(cred)
	require.NoError(t, err)
	defer removeVolume(m.Source)

	args := []string{"storage", "check", "--storage-mode", "cifs", "--cifs", "//127.0.0.1/dswarm", "--cifs-credentials", creds, "--node-storage", nodeRoot}
	for _, format := range [][]string{nil, {"--json"}} {
		code, stdout, stderr := dswarm(t, ctx, append(args, format...)...)
		out := stdout + stderr
		assert.Equal(t, 1, code, out)
		for _, part := range []string{password, "Pa,,ss", "Pa,ss", "w0rd"} {
			assert.NotContains(t, out, part, "storage check %v printed the password", format)
		}
		assert.Contains(t, out, "FAILED")
		assert.Contains(t, out, "failed to mount local volume", "the cause is still named")
	}
	// The engine does hold the password (what dswarm had to hide).
	inspect, err := exec.Command("docker", "volume", "inspect", m.Source).CombinedOutput()
	require.NoError(t, err, string(inspect))
	assert.Contains(t, string(inspect), strings.ReplaceAll(password, ",", ",,"))
	assertNoServices(t)
}

// removeVolume removes a volume from the manager and, where the nodes are
// containers of this machine, from each node.
func removeVolume(name string) {
	_ = exec.Command("docker", "volume", "rm", "-f", name).Run()
	out, _ := exec.Command("docker", "node", "ls", "--format", "{{.Hostname}}").Output()
	for _, h := range strings.Fields(string(out)) {
		cmd := exec.Command("docker", "exec", h, "docker", "volume", "rm", "-f", name)
		cmd.Env = withoutEnv(os.Environ(), "DOCKER_HOST")
		_ = cmd.Run()
	}
}

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
	// The volumes dswarm makes on every node (the storage and, confined,
	// the check's folder) hold the password; they go after the test.
	defer removeVolumes(t, "username=dswarm,password=e2e-Pa")

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
	assert.NotEmpty(t, volumesWith(dockerCmd(""), strings.ReplaceAll(password, ",", ",,")), "a volume with the password's options")
	assertNoServices(t)
}

// dockerCmd runs docker against the swarm manager, or inside node (a
// container of this machine) when node is not "".
func dockerCmd(node string) func(args ...string) ([]byte, error) {
	return func(args ...string) ([]byte, error) {
		if node == "" {
			return exec.Command("docker", args...).Output()
		}
		cmd := exec.Command("docker", append([]string{"exec", node, "docker"}, args...)...)
		cmd.Env = withoutEnv(os.Environ(), "DOCKER_HOST")
		return cmd.Output()
	}
}

// volumesWith lists the CIFS volumes of dswarm whose mount options hold s.
func volumesWith(docker func(...string) ([]byte, error), s string) []string {
	out, _ := docker("volume", "ls", "-q", "--filter", "label=dswarm.storage=cifs")
	var found []string
	for _, v := range strings.Fields(string(out)) {
		if o, err := docker("volume", "inspect", "--format", `{{index .Options "o"}}`, v); err == nil && strings.Contains(string(o), s) {
			found = append(found, v)
		}
	}
	return found
}

// removeVolumes removes the CIFS volumes whose options hold s from the
// manager and from every node that is a container of this machine, waiting
// for the failed tasks' containers that still use them to go.
func removeVolumes(t *testing.T, s string) {
	out, _ := exec.Command("docker", "node", "ls", "--format", "{{.Hostname}}").Output()
	engines := []string{""}
	for _, h := range strings.Fields(string(out)) {
		if _, err := dockerCmd(h)("version"); err == nil {
			engines = append(engines, h)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, e := range engines {
		docker := dockerCmd(e)
		for {
			left := volumesWith(docker, s)
			for _, v := range left {
				// The failed tasks' containers of the removed services
				// may linger; they hold the volume.
				if ids, err := docker("ps", "-aq", "--filter", "volume="+v); err == nil && len(strings.Fields(string(ids))) > 0 {
					_, _ = docker(append([]string{"rm", "-f"}, strings.Fields(string(ids))...)...)
				}
				_, _ = docker("volume", "rm", v)
			}
			if len(left) == 0 || len(volumesWith(docker, s)) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("volumes holding the test password left on %q: %v", e, volumesWith(docker, s))
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

package media_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/media"
)

// TestSandboxConfinesPreflight runs real ffmpeg in the sandbox as root would
// (the scheduler's container): as nobody, it encodes a readable input into
// its scratch folder, and cannot read a root-only file, connect to a
// root-only socket (the Docker socket's case) or write outside the scratch.
func TestSandboxConfinesPreflight(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the user switch needs root; as an ordinary user the sandbox only scrubs the environment (see media.Sandbox)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sb, err := media.NewSandbox(65534, 65534)
	require.NoError(t, err)
	defer sb.Close()
	require.True(t, sb.Dropped())

	// A storage-like tree: folders others may enter, root-owned.
	// (t.TempDir's parent is owner-only: nothing in it could be reached.)
	root, err := os.MkdirTemp("", "dswarm-sandbox-test-")
	require.NoError(t, err)
	defer os.RemoveAll(root)
	require.NoError(t, os.Chmod(root, 0o755))
	src := testmedia.Generate(t, testmedia.Spec{Name: "sandbox.mkv", Args: []string{
		"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1", "-c:v", "ffv1"}})
	input := filepath.Join(root, "in.mkv")
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(input, data, 0o644))
	secret := filepath.Join(root, "secret.mkv")
	require.NoError(t, os.WriteFile(secret, data, 0o600))

	t.Run("ordinary preflight into the scratch folder", func(t *testing.T) {
		out := sb.Path("preflight.mkv")
		enc, err := sb.Preflight(ctx, []string{"-y", "-i", input, "-frames:v", "1", "-c:v", "ffv1", out})
		require.NoError(t, err)
		assert.Equal(t, "ffv1", enc[0])
		st, err := os.Stat(out)
		require.NoError(t, err)
		assert.Equal(t, uint32(65534), st.Sys().(*syscall.Stat_t).Uid, "written as the sandbox user")
		info, err := sb.Probe(ctx, out)
		require.NoError(t, err)
		assert.Len(t, info.Streams, 1)
	})

	t.Run("readability is told before ffmpeg runs", func(t *testing.T) {
		assert.NoError(t, sb.CheckReadable(ctx, input))
		assert.ErrorContains(t, sb.CheckReadable(ctx, secret), "not readable by uid 65534")
	})

	t.Run("a root-only input is not read", func(t *testing.T) {
		_, err := sb.Preflight(ctx, []string{"-y", "-i", secret, "-frames:v", "1", sb.Path("x.mkv")})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Permission denied")
	})

	t.Run("a second output outside the scratch is not written", func(t *testing.T) {
		// What an option that swallowed a path would do: one more output file.
		planted := filepath.Join(root, "planted.sh")
		_, err := sb.Preflight(ctx, []string{"-y", "-i", input, "-frames:v", "1", sb.Path("ok.mkv"), "-f", "rawvideo", planted})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Permission denied")
		assert.NoFileExists(t, planted)
		_, err = sb.Preflight(ctx, []string{"-y", "-i", input, "-frames:v", "1", "-f", "rawvideo", "/etc/dswarm-planted"})
		require.Error(t, err)
		assert.NoFileExists(t, "/etc/dswarm-planted")
	})

	t.Run("a root-only socket is not reached", func(t *testing.T) {
		sock := filepath.Join(root, "docker.sock")
		l, err := net.Listen("unix", sock)
		require.NoError(t, err)
		defer l.Close()
		require.NoError(t, os.Chmod(sock, 0o660)) // as /var/run/docker.sock: root:docker
		accepted := make(chan struct{}, 1)
		go func() {
			if c, err := l.Accept(); err == nil {
				c.Close()
				accepted <- struct{}{}
			}
		}()
		_, err = sb.Preflight(ctx, []string{"-y", "-i", "unix:" + sock, "-frames:v", "1", sb.Path("s.mkv")})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Permission denied")
		select {
		case <-accepted:
			t.Fatal("the sandboxed ffmpeg connected to the root-only socket")
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// TestSandboxWithoutUserSwitch: a negative uid is the --local case.
func TestSandboxWithoutUserSwitch(t *testing.T) {
	sb, err := media.NewSandbox(-1, -1)
	require.NoError(t, err)
	defer sb.Close()
	assert.False(t, sb.Dropped())
	assert.True(t, strings.HasPrefix(sb.Path("../../etc/x.mkv"), sb.Dir+string(filepath.Separator)), "Path stays in the scratch")
	_, err = media.NewSandbox(0, 0)
	if os.Geteuid() == 0 {
		assert.Error(t, err, "tools never run as root")
	}
}

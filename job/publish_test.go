package job

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A verified ladder folder made on the shared storage is moved into place
// on another filesystem by copying: whole, under its name, and the
// storage's copy gone.
func TestMoveDirAcrossFilesystems(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "dswarm-move-")
	if err != nil {
		t.Fatalf("a second filesystem for the test: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	src := filepath.Join(shm, "output")
	require.NoError(t, os.Mkdir(src, 0o755))
	for _, name := range []string{"master.m3u8", "init_0.mp4", "chunk_0_00001.m4s"} {
		require.NoError(t, os.WriteFile(filepath.Join(src, name), []byte("data of "+name), 0o644))
	}
	dst := filepath.Join(t.TempDir(), "ladder")
	require.ErrorIs(t, os.Rename(src, dst+"-probe"), syscall.EXDEV, "/dev/shm and the temp folder are one filesystem here")
	require.NoError(t, publishDir(src, dst))
	for _, name := range []string{"master.m3u8", "init_0.mp4", "chunk_0_00001.m4s"} {
		b, err := os.ReadFile(filepath.Join(dst, name))
		require.NoError(t, err)
		assert.Equal(t, "data of "+name, string(b))
	}
	assert.NoDirExists(t, src)
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".dswarm-move-*"))
	assert.Empty(t, left)
}

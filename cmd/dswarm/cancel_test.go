package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// TestCancel cancels a running job (as Ctrl-C does) and checks that it
// stops with exit 130 and leaves neither output nor temporary files.
func TestCancel(t *testing.T) {
	src := testmedia.Generate(t, testmedia.Lossy)
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	require.NoError(t, os.Mkdir(tmp, 0o755))
	out := filepath.Join(dir, "out.mp4")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"transcode", "--local", "--temp-dir", tmp, "--segment-duration", "1s", src, "-o", out,
			"-c:v", "libx264", "-preset", "slow"}, &stdout, &stderr)
	}()
	// Cancel once segments are being written.
	deadline := time.Now().Add(30 * time.Second)
	for {
		matches, _ := filepath.Glob(filepath.Join(tmp, ".dswarm-*", "seg-*.nut"))
		if len(matches) > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "no segment started")
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	code := <-done
	assert.Equal(t, 130, code, stderr.String())
	assert.Contains(t, stderr.String(), "cancelled")
	assertEmptyDir(t, tmp)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"tmp"}, names, "no output, no partial output")
}

package server

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientUploadOverLimit: the client hears the scheduler's 413 for an
// upload over the limit, every time, instead of a reset connection: it
// waits for the go-ahead (Expect: 100-continue) before sending the body,
// and the scheduler refuses before it.
func TestClientUploadOverLimit(t *testing.T) {
	_, hs := testServer(t, "", nil, func(o *Options) { o.MaxUpload = 64 << 10 })
	big := filepath.Join(t.TempDir(), "big.mp4")
	require.NoError(t, os.WriteFile(big, make([]byte, 32<<20), 0o644))
	c := &Client{URL: hs.URL, Token: token}
	for i := 0; i < 20; i++ {
		_, err := c.Upload(context.Background(), big)
		require.Error(t, err)
		assert.Equal(t, 413, StatusOf(err), "try %d: %v", i, err)
		assert.Contains(t, err.Error(), "over the limit")
	}
}

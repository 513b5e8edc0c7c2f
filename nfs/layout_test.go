package nfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayoutPaths(t *testing.T) {
	l := Layout{Root: "/srv/dswarm"}
	assert.Equal(t, "/srv/dswarm/upload", l.Upload())
	assert.Equal(t, "/srv/dswarm/tmp", l.Tmp())
	assert.Equal(t, "/srv/dswarm/download", l.Download())

	tests := []struct {
		name    string
		got     func() (string, error)
		want    string
		wantErr string
	}{
		{name: "job dir", got: func() (string, error) { return l.JobDir("20261121-1930-a1b2") }, want: "/srv/dswarm/tmp/20261121-1930-a1b2"},
		{name: "job dir with dots", got: func() (string, error) { return l.JobDir("film.v2_x") }, want: "/srv/dswarm/tmp/film.v2_x"},
		{name: "job id with slash", got: func() (string, error) { return l.JobDir("a/b") }, wantErr: `job id "a/b"`},
		{name: "job id dot-dot", got: func() (string, error) { return l.JobDir("..") }, wantErr: `job id ".."`},
		{name: "empty job id", got: func() (string, error) { return l.JobDir("") }, wantErr: `job id ""`},
		{name: "upload file", got: func() (string, error) { return l.UploadFile("film.mkv") }, want: "/srv/dswarm/upload/film.mkv"},
		{name: "upload file in folder", got: func() (string, error) { return l.UploadFile("2026/film.mkv") }, want: "/srv/dswarm/upload/2026/film.mkv"},
		{name: "upload file escaping", got: func() (string, error) { return l.UploadFile("../tmp/x") }, wantErr: `file "../tmp/x": want a relative path inside /srv/dswarm/upload`},
		{name: "upload file absolute", got: func() (string, error) { return l.UploadFile("/etc/passwd") }, wantErr: "want a relative path"},
		{name: "download file", got: func() (string, error) { return l.DownloadFile("film.mp4") }, want: "/srv/dswarm/download/film.mp4"},
		{name: "download folder itself", got: func() (string, error) { return l.DownloadFile(".") }, wantErr: "want a relative path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
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

func TestLayoutCreateAndCheck(t *testing.T) {
	ctx := context.Background()
	l := Layout{Root: t.TempDir()}

	err := l.Check(ctx)
	require.ErrorIs(t, err, ErrNotMounted, "an empty folder is what a failed mount leaves")
	assert.Contains(t, err.Error(), "is the share mounted on this node?")

	require.NoError(t, l.Create())
	require.NoError(t, l.Check(ctx))
	for _, d := range Dirs {
		assert.DirExists(t, filepath.Join(l.Root, d))
	}
	assert.FileExists(t, filepath.Join(l.Root, MarkerFile))
	entries, err := os.ReadDir(l.Tmp())
	require.NoError(t, err)
	assert.Empty(t, entries, "check leaves no file behind")

	require.NoError(t, l.Create(), "create is idempotent")

	require.NoError(t, os.Remove(l.Download()))
	err = l.Check(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "download")
	assert.False(t, errors.Is(err, ErrNotMounted))

	require.NoError(t, os.WriteFile(l.Download(), nil, 0o644))
	err = l.Check(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "download is not a folder")
}

func TestLayoutCheckUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes into read-only folders")
	}
	l := Layout{Root: t.TempDir()}
	require.NoError(t, l.Create())
	require.NoError(t, os.Chmod(l.Tmp(), 0o555))
	t.Cleanup(func() { _ = os.Chmod(l.Tmp(), 0o755) })
	err := l.Check(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tmp/ is not writable")
}

func TestLayoutCheckHung(t *testing.T) {
	l := Layout{Root: t.TempDir()}
	require.NoError(t, l.Create())
	// A FIFO as marker blocks the read like a hung NFS server would.
	marker := filepath.Join(l.Root, MarkerFile)
	require.NoError(t, os.Remove(marker))
	require.NoError(t, syscall.Mkfifo(marker, 0o644))
	t.Cleanup(func() {
		// Let the blocked read finish so the goroutine ends; non-blocking,
		// so the cleanup cannot hang when no reader is waiting.
		if f, err := os.OpenFile(marker, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_ = f.Close()
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Check(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "storage "+l.Root+": no answer")
	assert.Less(t, time.Since(start), 5*time.Second)
}

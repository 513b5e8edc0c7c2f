package job_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// confining is a local executor that says its tasks run as 65534, as the
// swarm executor does when dswarm is root.
type confining struct {
	job.Local
	confined []string
	runs     int
}

func (c *confining) Confine(input, workDir, partial string) error {
	c.confined = []string{input, workDir, partial}
	return nil
}

func (c *confining) UserIDs() (int, int, error) { return 65534, 65534, nil }

func (c *confining) Run(ctx context.Context, t job.Task) (job.TaskResult, error) {
	c.runs++
	return c.Local.Run(ctx, t)
}

// TestPreflightRunsAsTaskUser: with an executor whose tasks run as another
// user, the job hands it its folder first (and not the output: no task
// writes it), and runs its preflight and its merge as that user: the
// output is that user's, and an input only root can read stops the job
// before any task, with one line saying why.
func TestPreflightRunsAsTaskUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root switches the preflight to another user")
	}
	dir, err := os.MkdirTemp("", "dswarm-confine-test-")
	require.NoError(t, err)
	defer os.RemoveAll(dir)
	require.NoError(t, os.Chmod(dir, 0o755))
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	cfg := func(in string) job.Config {
		return job.Config{Input: in, Output: filepath.Join(dir, "out.mkv"), Workers: 2, SegmentDuration: 2e9,
			FFmpegArgs: []string{"-c:v", "ffv1"}}
	}

	open := filepath.Join(dir, "in.mp4")
	require.NoError(t, os.WriteFile(open, b, 0o644))
	x := &confining{Local: job.Local{Hostname: "local"}}
	_, err = job.Run(context.Background(), cfg(open), x)
	require.NoError(t, err)
	require.Len(t, x.confined, 3)
	assert.Equal(t, open, x.confined[0])
	assert.True(t, strings.HasPrefix(filepath.Base(x.confined[1]), ".dswarm-"), "the job's own folder: %s", x.confined[1])
	assert.Empty(t, x.confined[2], "no task writes the output")
	st, err := os.Stat(filepath.Join(dir, "out.mkv"))
	require.NoError(t, err)
	assert.Equal(t, uint32(65534), st.Sys().(*syscall.Stat_t).Uid, "written by the merge, as the task user")

	secret := filepath.Join(dir, "secret.mp4")
	require.NoError(t, os.WriteFile(secret, b, 0o600))
	x = &confining{Local: job.Local{Hostname: "local"}}
	cf := cfg(secret)
	cf.Output = filepath.Join(dir, "out2.mkv")
	_, err = job.Run(context.Background(), cf, x)
	require.Error(t, err)
	assert.Equal(t, "input "+secret+" is not readable by uid 65534, which runs ffmpeg with your options: make it and its folders readable by others", err.Error())
	assert.Zero(t, x.runs, "no task ran")
	assert.NoFileExists(t, cf.Output)
}

package job_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// deleting runs tasks with real ffmpeg after it deletes the input, once,
// before the first task: the input vanishes after the probe and the plan.
type deleting struct {
	job.Local
	input string

	once sync.Once
	mu   sync.Mutex
	runs []job.Task
}

func (d *deleting) Run(ctx context.Context, t job.Task) (job.TaskResult, error) {
	d.once.Do(func() { os.Remove(d.input) })
	d.mu.Lock()
	d.runs = append(d.runs, t)
	d.mu.Unlock()
	return d.Local.Run(ctx, t)
}

// TestDeletedInputIsNotRetried: an input deleted mid-job fails the job at
// once with one line naming it; no task is tried a second time, as a node
// fault would be.
func TestDeletedInputIsNotRetried(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	in := filepath.Join(t.TempDir(), "in.mp4")
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(in, b, 0o644))
	exec := &deleting{Local: job.Local{Hostname: "local"}, input: in}
	out := filepath.Join(t.TempDir(), "out.mkv")
	_, err = job.Run(context.Background(), job.Config{Input: in, Output: out, Workers: 2,
		SegmentDuration: 2e9, FFmpegArgs: []string{"-c:v", "ffv1"}}, exec)
	require.Error(t, err)
	assert.Regexp(t, `^(audio: )?input `+in+`: no such file \(deleted while the job ran\)$`, err.Error())
	require.NotEmpty(t, exec.runs)
	for _, r := range exec.runs {
		assert.Equal(t, 1, r.Attempt, "%s retried", r.Name)
	}
	assert.NoFileExists(t, out)
}

package job_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// flaky runs tasks with real ffmpeg, except that segment 0 fails its first
// failures attempts, as a node with a broken ffmpeg would.
type flaky struct {
	job.Local
	failures int

	mu       sync.Mutex
	attempts []int // Attempt of every run of segment 0
}

func (f *flaky) Run(ctx context.Context, t job.Task) (job.TaskResult, error) {
	if t.Role == job.RoleSegment && t.Segment == 0 {
		f.mu.Lock()
		f.attempts = append(f.attempts, t.Attempt)
		n := len(f.attempts)
		f.mu.Unlock()
		if n <= f.failures {
			return job.TaskResult{Node: "node" + string(rune('0'+n))}, errors.New("ffmpeg exited 1: broken on purpose")
		}
	}
	return f.Local.Run(ctx, t)
}

// A failed segment is retried up to 3 times (4 attempts), as the README
// says: 3 failures still give a verified output, 4 fail the job.
func TestSegmentRetriedThreeTimes(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	for _, tc := range []struct {
		failures int
		wantErr  string
	}{
		{failures: 3},
		{failures: 4, wantErr: "segment 0 on node node4: ffmpeg exited 1: broken on purpose (tried 4 times, on node1, node2, node3, node4)"},
	} {
		t.Run(fmt.Sprintf("%d failures", tc.failures), func(t *testing.T) {
			exec := &flaky{Local: job.Local{Hostname: "local"}, failures: tc.failures}
			out := filepath.Join(t.TempDir(), "out.mkv")
			sum, err := job.Run(context.Background(), job.Config{Input: src, Output: out, Workers: 2,
				SegmentDuration: 2e9, FFmpegArgs: []string{"-c:v", "ffv1"}}, exec)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tc.wantErr, err.Error())
				assert.NoFileExists(t, out)
			} else {
				require.NoError(t, err)
				assert.Equal(t, 4, sum.SegmentTimings[0].Attempts)
			}
			assert.Equal(t, []int{1, 2, 3, 4}, exec.attempts)
		})
	}
}

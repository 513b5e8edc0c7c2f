package job_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

var ladderRetrySource = testmedia.Spec{Name: "ladder-retry.mp4", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=10",
	"-c:v", "libx264", "-preset", "ultrafast", "-g", "25"}}

// failing fails the named task's first attempt, as a node with a broken
// ffmpeg would.
type failing struct {
	job.Local
	role    job.Role
	segment int

	mu   sync.Mutex
	runs []int // attempts of the failing task
}

func (f *failing) Run(ctx context.Context, t job.Task) (job.TaskResult, error) {
	if t.Role == f.role && t.Segment == f.segment {
		f.mu.Lock()
		f.runs = append(f.runs, t.Attempt)
		f.mu.Unlock()
		if t.Attempt == 1 {
			return job.TaskResult{Node: "bad"}, errors.New("ffmpeg exited 1: broken on purpose")
		}
	}
	return f.Local.Run(ctx, t)
}

// TestLadderRetriesATask: a task whose first attempt fails (its first
// pass, or its one pass) runs again, and the ladder still verifies.
func TestLadderRetriesATask(t *testing.T) {
	src := testmedia.Generate(t, ladderRetrySource)
	for _, tc := range []struct {
		name    string
		onePass bool
		role    job.Role
	}{
		{"two-pass, the analysis fails", false, job.RoleAnalysis},
		{"two-pass, the encode fails", false, job.RoleSegment},
		{"one pass", true, job.RoleSegment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			exec := &failing{Local: job.Local{Hostname: "local"}, role: tc.role, segment: 1}
			sum, err := job.RunLadder(context.Background(), job.LadderConfig{Input: src, OutputDir: filepath.Join(dir, "out"),
				Spec: "240p:300k", SegmentDuration: 2e9, Workers: 2, OnePass: tc.onePass}, exec)
			require.NoError(t, err)
			assert.Equal(t, []int{1, 2}, exec.runs)
			require.Len(t, sum.Tasks, 2)
			for _, task := range sum.Tasks {
				assert.Equal(t, 1+task.Index, task.Attempts, "task %d", task.Index)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "only the published folder")
		})
	}
}

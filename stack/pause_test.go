package stack

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
)

// runAnalysis runs an analysis task for every segment at once, as a
// bitrate target's analysis round does.
func runAnalysis(t *testing.T, x *Executor, n int, dir string) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(dir, fmt.Sprintf("seg-%03d.analysis.nut", i))
			_, err := x.Run(context.Background(), job.Task{JobID: "job1", Name: fmt.Sprintf("ana-%03d", i), Role: job.RoleAnalysis,
				Segment: i, Attempt: 1, Args: []string{"-i", "/host/store/upload/in.mp4", out}, Output: out})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
}

// TestPauseLetsTwoAnalysisRoundsRun: two analysis rounds, then the
// segments. Unpaused, the dispatcher reserved every slot the first round
// freed for segments that only start after the analysis, and the second
// round waited for ever.
func TestPauseLetsTwoAnalysisRoundsRun(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f, x, dir := speedExec(t, map[string]float64{"n1": 48, "n2": 36, "n3": 12}, 5, 10*time.Millisecond)
		segs := segmentsOf(8, 5)
		_, err := x.Place("job1", segs)
		require.NoError(t, err)

		done := make(chan struct{})
		go func() {
			defer close(done)
			x.Pause(true)
			runAnalysis(t, x, len(segs), dir)
			runAnalysis(t, x, len(segs), dir)
			x.Pause(false)
			runSegments(t, x, len(segs), dir)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the rounds did not finish: slots held for segments not yet asked for")
		}
		assert.Len(t, f.created, 3*len(segs), "two analysis rounds and the segments")
		assert.Empty(t, f.live, "every service removed")
	})
}

package stack

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
)

// TestExecutorMeasuresEveryNode: labels say 1,1,12 but the three nodes are
// equally fast. The two believed slow get a probe, are measured, and run
// segments; the summary compares shares, not fps with weights; what was
// learnt goes into the speed book, and the next job starts from it with no
// probe and a plan in thirds.
func TestExecutorMeasuresEveryNode(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f, x, dir := speedExec(t, map[string]float64{"n1": 40, "n2": 40, "n3": 40}, 25, 100*time.Millisecond)
		for i, w := range []float64{1, 1, 12} {
			x.Nodes[i].Weight = w
		}
		segs := segmentsOf(9, 25)
		_, err := x.Place("job1", segs)
		require.NoError(t, err)
		counts := map[string]int{}
		for _, n := range runSegments(t, x, len(segs), dir) {
			counts[n]++
		}
		got := map[string]job.NodePlacement{}
		for _, p := range x.Placement() {
			t.Logf("%s: planned %d, ran %d, learnt %.1f; %s", p.Node, p.Planned, counts[p.Node], p.LearntSpeed, p.Reason)
			got[p.Node] = p
		}
		for _, n := range []string{"node1", "node2", "node3"} {
			assert.Positive(t, counts[n], "%s ran segments: %v", n, counts)
			assert.Positive(t, got[n].LearntSpeed, n)
			assert.Contains(t, got[n].Reason, "of the speed of the 3 nodes measured, against")
			assert.NotContains(t, got[n].Reason, "of its configured speed")
		}
		assert.Contains(t, got["node1"].Reason, "never measured before")
		assert.Contains(t, got["node3"].Reason, "against 86% by its weight")
		assert.NotContains(t, got["node3"].Reason, "never measured before", "the rule gave it work")

		book := x.Learn(scheduler.SpeedBook{}, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
		require.Len(t, book.Nodes, 3)
		total := 0.0
		for id, l := range book.Nodes {
			t.Logf("%s (%s): speed %.2f, %.1f fps", id, l.Hostname, l.Speed, l.FPS)
			total += l.Speed
		}
		assert.InDelta(t, 14, total, 1e-6, "in the weights' units")
		for _, l := range book.Nodes {
			assert.InDelta(t, 14.0/3, l.Speed, 14.0/3*0.35, "about equal: %+v", book.Nodes)
		}

		next := newExec(f)
		for i, w := range []float64{1, 1, 12} {
			next.Nodes[i].Weight = w
		}
		next.Speeds = book
		_, err = next.Place("job2", segs)
		require.NoError(t, err)
		for _, p := range next.Placement() {
			assert.InDelta(t, 3, p.Planned, 1, "%s: the plan follows the learnt speeds", p.Node)
			assert.Contains(t, p.Reason, "learnt in earlier jobs")
			// About a third each (the weights alone would say 7/7/86); the
			// speeds are measured from progress polls, so not exactly.
			assert.Regexp(t, `(2[4-9]|3[0-9]|4[0-3])% of the cluster.s speed at the start`, p.Reason, "about a third each")
		}
		first := next.d.Next(0)
		for _, a := range first {
			assert.False(t, next.d.Why[a.Node].Probed, "measured before: no probe")
		}
	})
}

package scheduler

import (
	"math"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func simJob(seed int64, slowNode int) SimConfig {
	job := SimJob{Speeds: []float64{48, 36, 12}, Segments: 120, Seed: seed, SpeedError: 0.3, Startup: 1.5}
	if slowNode >= 0 {
		job.Slowdowns = []Slowdown{{Node: slowNode, Factor: 3, At: LowerBound(job.Config()) / 2}}
	}
	return job.Config()
}

// TestSimulatorInvariants runs every policy on many jobs: the simulator
// fails a run in which a segment completes twice or a node runs more tasks
// than its slots; every segment must be done.
func TestSimulatorInvariants(t *testing.T) {
	for seed := int64(1); seed <= 30; seed++ {
		for _, slow := range []int{-1, 0, 2} {
			cfg := simJob(seed, slow)
			for _, p := range Policies(cfg) {
				res, err := Simulate(cfg, p)
				require.NoError(t, err, "seed %d policy %s", seed, p.Name())
				total := 0
				for _, n := range res.Segments {
					total += n
				}
				assert.Equal(t, len(cfg.Costs), total, "every segment exactly once (%s)", p.Name())
				assert.GreaterOrEqual(t, res.Makespan, res.LowerBound*0.999, "nothing beats the lower bound (%s)", p.Name())
			}
		}
	}
}

// overcommit starts two tasks on a one-slot node: the simulator must refuse.
type overcommit struct{ started bool }

func (o *overcommit) Name() string { return "overcommit" }
func (o *overcommit) Next(now float64) []Attempt {
	if o.started {
		return nil
	}
	o.started = true
	return []Attempt{{ID: 0, First: 0, Last: 1, Node: 0, Cost: 1}, {ID: 1, First: 1, Last: 2, Node: 0, Cost: 1}}
}
func (o *overcommit) Finished(Attempt, float64) []Attempt { return nil }

// twice runs segment 0 on both nodes and never cancels: the simulator must
// refuse the second completion.
type twice struct{ started bool }

func (o *twice) Name() string { return "twice" }
func (o *twice) Next(now float64) []Attempt {
	if o.started {
		return nil
	}
	o.started = true
	return []Attempt{{ID: 0, First: 0, Last: 1, Node: 0, Cost: 1}, {ID: 1, First: 0, Last: 1, Node: 1, Cost: 1}}
}
func (o *twice) Finished(Attempt, float64) []Attempt { return nil }

func TestSimulatorCatchesBrokenPolicies(t *testing.T) {
	cfg := SimConfig{Costs: []float64{1, 1}, Nodes: []SpeedNode{{Name: "a", Speed: 1, Slots: 1}, {Name: "b", Speed: 1, Slots: 1}}}
	_, err := Simulate(cfg, &overcommit{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "overcommitted node a")
	_, err = Simulate(cfg, &twice{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "completed twice")
}

func TestLowerBound(t *testing.T) {
	cfg := SimConfig{Costs: []float64{100, 100}, Nodes: []SpeedNode{{Speed: 10, Slots: 1}, {Speed: 10, Slots: 1}}, Startup: 1}
	assert.InDelta(t, 11.0, LowerBound(cfg), 1e-9, "200 work at 20/s, plus one start-up")
	cfg.Costs = []float64{300, 1}
	assert.InDelta(t, 31.0, LowerBound(cfg), 1e-9, "the largest segment on the fastest node")
	cfg.Costs = []float64{100, 100}
	cfg.Slowdowns = []Slowdown{{Node: 0, Factor: 2, At: 5}}
	// 100 done by t=5, then 15/s for the other 100.
	assert.InDelta(t, 5+100.0/15+1, LowerBound(cfg), 1e-9)
}

// TestDswarmTargets checks the targets on 100 random jobs each and
// prints the distribution: within 1.05 of the lower bound without slowdown
// (median), within 1.10 with the fastest node slowing 3x halfway (every
// job), and at least 20% better than static weights there (median).
func TestDswarmTargets(t *testing.T) {
	var plain, slow, gain []float64
	for seed := int64(1); seed <= 100; seed++ {
		cfg := simJob(seed, -1)
		r, err := Simulate(cfg, NewDispatcher(cfg.Costs, cfg.Nodes, DispatchOptions{Startup: cfg.Startup}))
		require.NoError(t, err)
		plain = append(plain, r.Ratio())

		cfg = simJob(seed, 0)
		r, err = Simulate(cfg, NewDispatcher(cfg.Costs, cfg.Nodes, DispatchOptions{Startup: cfg.Startup}))
		require.NoError(t, err)
		s, err := Simulate(cfg, StaticWeights(cfg.Costs, cfg.Nodes))
		require.NoError(t, err)
		slow = append(slow, r.Ratio())
		gain = append(gain, 1-r.Makespan/s.Makespan)
	}
	sort.Float64s(plain)
	sort.Float64s(slow)
	sort.Float64s(gain)
	t.Logf("no slowdown: ratio median %.3f, p90 %.3f, max %.3f", plain[50], plain[90], plain[99])
	t.Logf("slowdown:    ratio median %.3f, p90 %.3f, max %.3f; gain over static median %.2f, min %.2f", slow[50], slow[90], slow[99], gain[50], gain[0])
	assert.LessOrEqual(t, plain[50], 1.05)
	assert.LessOrEqual(t, slow[99], 1.10)
	assert.GreaterOrEqual(t, gain[50], 0.20)
}

// TestBackupCancelsTwin: a node that slows down 10x holds the last task;
// an idle fast node runs a backup, which wins, and the twin is cancelled.
func TestBackupCancelsTwin(t *testing.T) {
	nodes := []SpeedNode{{Name: "fast", Speed: 10, Slots: 1}, {Name: "slow", Speed: 10, Slots: 1}}
	d := NewDispatcher([]float64{100, 100}, nodes, DispatchOptions{Startup: 0.1})
	first := d.Next(0)
	require.Len(t, first, 2, "both nodes start")
	var onSlow, onFast Attempt
	for _, a := range first {
		if a.Node == 1 {
			onSlow = a
		} else {
			onFast = a
		}
	}
	d.Progress(onSlow, 5, 1.1)
	d.Progress(onSlow, 6, 2.1) // 1 unit per second: slowed 10x
	d.Progress(onFast, 10, 1.1)
	require.Empty(t, d.Finished(onFast, 10.1), "no twin yet")
	backups := d.Next(10.1)
	require.Len(t, backups, 1)
	b := backups[0]
	assert.True(t, b.Backup)
	assert.Equal(t, 0, b.Node, "the backup runs on the idle fast node")
	assert.Equal(t, [2]int{onSlow.First, onSlow.Last}, [2]int{b.First, b.Last})
	cancel := d.Finished(b, 20.2)
	require.Len(t, cancel, 1, "the straggler is cancelled")
	assert.Equal(t, onSlow.ID, cancel[0].ID)
	assert.Empty(t, d.Next(20.3), "nothing left")
}

// TestDispatcherLearnsSpeeds: configured weights say the nodes are equal,
// but one is 4x faster; the fast node ends up with most of the work.
func TestDispatcherLearnsSpeeds(t *testing.T) {
	costs := make([]float64, 100)
	for i := range costs {
		costs[i] = 100
	}
	cfg := SimConfig{Costs: costs, Nodes: []SpeedNode{{Name: "a", Speed: 10, Slots: 1}, {Name: "b", Speed: 10, Slots: 1}},
		TrueSpeeds: []float64{40, 10}, Startup: 1}
	d := NewDispatcher(cfg.Costs, cfg.Nodes, DispatchOptions{Startup: cfg.Startup})
	res, err := Simulate(cfg, d)
	require.NoError(t, err)
	assert.Greater(t, res.Segments[0], 70, "the truly fast node does most: %v", res.Segments)
	assert.Less(t, res.Ratio(), 1.08)
	assert.Contains(t, d.Explain()[0], "learnt 4")
}

// TestDispatcherSlowNodeWaits: the last piece is left to a fast busy node
// rather than given to an idle node that would finish it much later.
func TestDispatcherSlowNodeWaits(t *testing.T) {
	nodes := []SpeedNode{{Name: "fast", Speed: 100, Slots: 1}, {Name: "slow", Speed: 1, Slots: 1}}
	d := NewDispatcher([]float64{100, 100, 100}, nodes, DispatchOptions{Startup: 0.1})
	started := d.Next(0)
	for _, a := range started {
		assert.Equal(t, 0, a.Node, "the slow node would take 100 s for one segment: it waits")
	}
}

// TestOneSegmentMode: the swarm's mode, one segment per task, costliest
// first; simulated on the jobs it stays close to the lower bound
// (segments sized for start-up, so no ranges are needed).
func TestOneSegmentMode(t *testing.T) {
	d := NewDispatcher([]float64{5, 9, 7, 9.5, 1}, []SpeedNode{{Name: "a", Speed: 1, Slots: 2}}, DispatchOptions{OneSegment: true})
	var got []int
	for _, a := range d.Next(0) {
		assert.Equal(t, 1, a.Last-a.First)
		got = append(got, a.First)
	}
	assert.Equal(t, []int{3, 1}, got, "costliest first, as many as the slots")

	// The job (48,36,12 with 30% error, a 3x slowdown halfway, 30000
	// frames) cut as the swarm cuts it: segment count from the sizing
	// model (work on one mean slot D*r = 30000/32 s, 3 slots, 1.5 s start-up).
	model := SizingModel{Startup: 1500 * time.Millisecond}
	work := time.Duration(30000.0 / 32 * float64(time.Second))
	count := int(math.Round(work.Seconds() / model.SegmentDuration(work, 3).Seconds()))
	var ratios, gains []float64
	for seed := int64(1); seed <= 30; seed++ {
		job := SimJob{Speeds: []float64{48, 36, 12}, Segments: count, FramesPerSegment: 30000 / float64(count), Seed: seed, SpeedError: 0.3, Startup: 1.5}
		job.Slowdowns = []Slowdown{{Node: 0, Factor: 3, At: LowerBound(job.Config()) / 2}}
		cfg := job.Config()
		r, err := Simulate(cfg, NewDispatcher(cfg.Costs, cfg.Nodes, DispatchOptions{Startup: cfg.Startup, OneSegment: true}))
		require.NoError(t, err)
		s, err := Simulate(cfg, StaticWeights(cfg.Costs, cfg.Nodes))
		require.NoError(t, err)
		ratios = append(ratios, r.Ratio())
		gains = append(gains, 1-r.Makespan/s.Makespan)
	}
	sort.Float64s(ratios)
	sort.Float64s(gains)
	t.Logf("%d segments, one per task, 3x slowdown: ratio median %.3f, max %.3f; gain over static median %.2f", count, ratios[15], ratios[29], gains[15])
	assert.LessOrEqual(t, ratios[15], 1.15)
	assert.GreaterOrEqual(t, gains[15], 0.20)
}

// TestHoldDownAbandon: held slots and down nodes get no work; an abandoned
// attempt frees its slot and is not handed out again (the caller retries).
func TestHoldDownAbandon(t *testing.T) {
	nodes := []SpeedNode{{Name: "a", Speed: 10, Slots: 1}, {Name: "b", Speed: 10, Slots: 1}, {Name: "c", Speed: 10, Slots: 1}}
	d := NewDispatcher([]float64{100, 100, 100, 100}, nodes, DispatchOptions{OneSegment: true})
	d.Hold(0, 1)
	d.Down(2)
	first := d.Next(0)
	require.Len(t, first, 1)
	assert.Equal(t, 1, first[0].Node, "a is held, c is down")
	assert.Equal(t, 1, d.Busy(1))
	d.Abandon(first[0])
	assert.Equal(t, 0, d.Busy(1))
	d.Hold(0, -1)
	again := d.Next(1)
	require.Len(t, again, 2)
	for _, a := range again {
		assert.NotEqual(t, first[0].First, a.First, "an abandoned segment is the caller's to retry")
		assert.NotEqual(t, 2, a.Node)
	}
}

// TestRequeueAndSkip: a requeued attempt's segment is handed out again; a
// skipped segment never is.
func TestRequeueAndSkip(t *testing.T) {
	d := NewDispatcher([]float64{1, 5, 3}, []SpeedNode{{Name: "a", Speed: 1, Slots: 1}}, DispatchOptions{OneSegment: true})
	d.Skip(1)
	first := d.Next(0)
	require.Len(t, first, 1)
	assert.Equal(t, 2, first[0].First, "costliest left after skipping 1")
	d.Requeue(first[0])
	again := d.Next(0)
	require.Len(t, again, 1)
	assert.Equal(t, 2, again[0].First, "requeued")
	d.Finished(again[0], 10)
	last := d.Next(10)
	require.Len(t, last, 1)
	assert.Equal(t, 0, last[0].First)
	d.Finished(last[0], 20)
	assert.Empty(t, d.Next(20), "segment 1 was skipped")
}

package stack

import (
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/scheduler"
)

// TestPoolFairShare: the pool applies scheduler.Shares (whose tests hold
// the rules) under its lock.
func TestPoolFairShare(t *testing.T) {
	p := NewPool()
	now := time.Unix(1000, 0)
	p.Join("a", map[string]int{"n1": 1})
	p.Join("b", map[string]int{"n1": 1})
	assert.True(t, p.Take("a", "n1", now))
	assert.Equal(t, 1, p.Others("b", "n1"))
	assert.False(t, p.Take("b", "n1", now), "n1 is full")
	p.Refused("b", now)
	p.Release("a", "n1")
	assert.Equal(t, 0, p.Others("b", "n1"))
	assert.True(t, p.Take("b", "n1", now))
	p.Leave("b")
	assert.True(t, p.Take("a", "n1", now), "b left with its slot")
}

// TestTwoJobsShareSlots: two jobs on one pool and three one-slot nodes. The
// second starts while the first holds every slot; it gets slots as they
// free, and while both run neither holds more than its fair share (2).
func TestTwoJobsShareSlots(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(nil)
		trueSpeed(f, map[string]float64{"n1": 40, "n2": 40, "n3": 40}, 25, 40*time.Millisecond)
		pool := NewPool()
		var mu sync.Mutex
		maxAfterJoin := map[string]int{}
		joined, aDone := false, false
		f.onCreate = func(live map[string]swarm.ServiceSpec) {
			per := map[string]int{}
			for _, s := range live {
				per[s.Labels[LabelJob]]++
			}
			mu.Lock()
			defer mu.Unlock()
			if per["b"] > 0 {
				joined = true
			}
			if joined && !aDone {
				for j, n := range per {
					maxAfterJoin[j] = max(maxAfterJoin[j], n)
				}
			}
		}
		run := func(id string, n int, wait time.Duration) {
			time.Sleep(wait)
			x := newExec(f)
			x.Pool, x.Startup = pool, time.Millisecond
			dir := t.TempDir()
			x.HostRoot, x.NodeRoot = dir, dir
			segs := make([]scheduler.Segment, n)
			for i := range segs {
				segs[i] = scheduler.Segment{Index: i, Count: 25}
			}
			_, err := x.Place(id, segs)
			require.NoError(t, err)
			defer pool.Leave(id)
			runSegmentsOf(t, x, id, n, dir)
			mu.Lock()
			aDone = aDone || id == "a"
			mu.Unlock()
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); run("a", 24, 0) }()
		go func() { defer wg.Done(); run("b", 12, 60*time.Millisecond) }()
		wg.Wait()
		t.Logf("most services at once after b joined: %v", maxAfterJoin)
		assert.True(t, joined)
		assert.LessOrEqual(t, maxAfterJoin["a"], 2+1, "a keeps at most its share (and a slot it held when b came)")
		assert.LessOrEqual(t, maxAfterJoin["b"], 2)
		assert.Empty(t, f.live)
	})
}

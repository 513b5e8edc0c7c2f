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

func TestPoolFairShare(t *testing.T) {
	p := NewPool()
	now := time.Unix(1000, 0)
	p.Join("a", map[string]int{"n1": 2, "n2": 2})
	assert.True(t, p.Take("a", "n1", now))
	assert.True(t, p.Take("a", "n1", now))
	assert.False(t, p.Take("a", "n1", now), "n1 is full")
	assert.True(t, p.Take("a", "n2", now), "alone, a job may use every slot")
	p.Join("b", map[string]int{"n1": 2, "n2": 2})
	p.Refused("b", now) // b wants a slot and none is free
	assert.Equal(t, 3, p.Others("b", "n1")+p.Others("b", "n2"))
	assert.False(t, p.Take("a", "n2", now), "a holds its fair share (2) and more while b waits")
	assert.True(t, p.Take("b", "n2", now), "b is under its share")
	p.Release("a", "n1")
	assert.True(t, p.Take("b", "n1", now))
	assert.False(t, p.Take("b", "n1", now), "full")
	p.Leave("b")
	p.Release("a", "n1")
	assert.True(t, p.Take("a", "n1", now.Add(2*time.Second)), "b left: a may use everything again")
}

// TestTwoJobsShareSlots: two jobs on one pool and three one-slot nodes. The
// second starts while the first holds every slot; it gets slots as they
// free, and while both run neither holds more than its fair share (2).
func TestTwoJobsShareSlots(t *testing.T) {
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
}

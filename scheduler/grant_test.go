package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grantSetup is a dispatcher over equal segments and one-slot nodes of the
// given speeds, and shares where job "a" joined over the same nodes.
func grantSetup(segments int, speeds ...float64) (*Dispatcher, *Shares, []string) {
	costs := make([]float64, segments)
	for i := range costs {
		costs[i] = 10
	}
	var nodes []SpeedNode
	ids := make([]string, len(speeds))
	slots := map[string]int{}
	for i, s := range speeds {
		ids[i] = string(rune('1' + i))
		nodes = append(nodes, SpeedNode{Name: ids[i], Speed: s, Slots: 1})
		slots[ids[i]] = 1
	}
	sh := NewShares()
	sh.Join("a", slots)
	return NewDispatcher(costs, nodes, DispatchOptions{OneSegment: true}), sh, ids
}

func racingAlways(Attempt) bool { return true }

func TestGrant(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		name      string
		setup     func(sh *Shares, ids []string) // other jobs and their slots
		wantNodes []int                          // nodes of the attempts started, in order
		pending   int                            // segments not handed out after
		refusedA  bool
	}{
		{name: "alone: every node", wantNodes: []int{0, 1, 2}, pending: 3, refusedA: true},
		{name: "a node another job holds gets nothing", setup: func(sh *Shares, ids []string) {
			sh.Join("b", map[string]int{ids[0]: 1})
			require.True(t, sh.Take("b", ids[0], now))
		}, wantNodes: []int{1, 2}, pending: 4, refusedA: true},
		{name: "beyond its share while another job waits: requeued", setup: func(sh *Shares, ids []string) {
			sh.Join("b", map[string]int{ids[0]: 1}) // 3 slots over 2 jobs: a's share is 2
			sh.Refused("b", now)
		}, wantNodes: []int{0, 1}, pending: 4, refusedA: true},
		{name: "the other job waited long ago: no hold", setup: func(sh *Shares, ids []string) {
			sh.Join("b", map[string]int{ids[0]: 1})
			sh.Refused("b", now.Add(-time.Minute))
		}, wantNodes: []int{0, 1, 2}, pending: 3, refusedA: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, sh, ids := grantSetup(6, 3, 2, 1)
			if c.setup != nil {
				c.setup(sh, ids)
			}
			got := Grant(d, sh, "a", ids, 0, now, racingAlways)
			var nodes []int
			for _, a := range got {
				nodes = append(nodes, a.Node)
				assert.False(t, a.Backup)
			}
			assert.Equal(t, c.wantNodes, nodes)
			assert.Equal(t, c.pending, d.Pending(), "a requeued attempt's segment waits again")
			tasks := 0
			for _, w := range d.Why {
				tasks += w.Tasks
			}
			assert.Equal(t, len(got), tasks, "a requeued attempt is not counted as a task")
			held := 0
			for _, id := range ids {
				held += sh.used[id]["a"]
			}
			assert.Equal(t, len(got), held, "a slot in the shares for each attempt started, none for those requeued")
			_, refused := sh.refused["a"]
			assert.Equal(t, c.refusedA, refused)
		})
	}
}

func TestGrantNothingWaitingIsNoRefusal(t *testing.T) {
	d, sh, ids := grantSetup(2, 1, 1, 1)
	got := Grant(d, sh, "a", ids, 0, time.Unix(1000, 0), racingAlways)
	assert.Len(t, got, 2)
	assert.NotContains(t, sh.refused, "a", "every segment handed out: the job waits for nothing")
}

// TestGrantBackupOfAFinishedRace: believed equal, node 0 is really 10x
// faster than node 1 (their progress says so); once node 0 is done and
// idle, the dispatcher offers a backup of node 1's segment. Grant starts it while the race runs; when racing says the
// race is over, the backup is dropped and its slot given back.
func TestGrantBackupOfAFinishedRace(t *testing.T) {
	for _, racing := range []bool{true, false} {
		d, sh, ids := grantSetup(2, 1, 1)
		first := Grant(d, sh, "a", ids, 0, time.Unix(1000, 0), racingAlways)
		require.Len(t, first, 2)
		fast, slow := first[0], first[1]
		if fast.Node != 0 {
			fast, slow = slow, fast
		}
		d.Progress(slow, 0.5, 0.5)
		d.Progress(slow, 1, 1) // node 1 does 1/s: 9 s to go
		d.Finished(fast, 1)    // 10 cost units in 1 s: node 0 does 10/s
		sh.Release("a", ids[0])
		got := Grant(d, sh, "a", ids, 1, time.Unix(1001, 0), func(Attempt) bool { return racing })
		if racing {
			require.Len(t, got, 1)
			assert.True(t, got[0].Backup)
			assert.Equal(t, 0, got[0].Node)
			assert.Equal(t, 1, sh.used[ids[0]]["a"], "the backup holds node 0's slot")
			continue
		}
		assert.Empty(t, got, "the race is over: no backup")
		assert.Equal(t, 0, sh.used[ids[0]]["a"], "its slot given back")
		assert.Equal(t, 0, d.Busy(0), "the dispatcher no longer counts it")
	}
}

func TestGrantFree(t *testing.T) {
	now := time.Unix(1000, 0)
	nodes := []Node{{ID: "1", Hostname: "fast", Weight: 3, Slots: 1}, {ID: "2", Hostname: "mid", Weight: 2, Slots: 1}, {ID: "3", Hostname: "slow", Weight: 1, Slots: 1}}
	setup := func() (*Dispatcher, *Shares) {
		sh := NewShares()
		sh.Join("a", map[string]int{"1": 1, "2": 1, "3": 1})
		return NewDispatcher(nil, []SpeedNode{{Speed: 3, Slots: 1}, {Speed: 2, Slots: 1}, {Speed: 1, Slots: 1}}, DispatchOptions{}), sh
	}
	t.Run("the fastest free node, held", func(t *testing.T) {
		d, sh := setup()
		ni, err := GrantFree(d, sh, "a", nodes, nil, nil, now)
		require.NoError(t, err)
		assert.Equal(t, 0, ni)
		assert.Equal(t, 1, d.Busy(0))
		assert.Equal(t, 1, sh.used["1"]["a"])
		assert.NotContains(t, sh.refused, "a")
	})
	t.Run("another job's slot is not free", func(t *testing.T) {
		d, sh := setup()
		sh.Join("b", map[string]int{"1": 1})
		require.True(t, sh.Take("b", "1", now))
		ni, err := GrantFree(d, sh, "a", nodes, nil, nil, now)
		require.NoError(t, err)
		assert.Equal(t, 1, ni)
	})
	t.Run("avoided and lost nodes are passed over", func(t *testing.T) {
		d, sh := setup()
		ni, err := GrantFree(d, sh, "a", nodes, map[string]bool{"2": true}, []string{"fast"}, now)
		require.NoError(t, err)
		assert.Equal(t, 2, ni)
	})
	t.Run("all busy: none, and the job counts as refused", func(t *testing.T) {
		d, sh := setup()
		for i := range nodes {
			d.Hold(i, 1)
		}
		ni, err := GrantFree(d, sh, "a", nodes, nil, nil, now)
		require.NoError(t, err)
		assert.Equal(t, -1, ni)
		assert.Equal(t, now, sh.refused["a"])
	})
	t.Run("beyond its share while another job waits: none, nothing held", func(t *testing.T) {
		d, sh := setup()
		sh.Join("b", map[string]int{"1": 1}) // a's share: 2 of 3
		for _, id := range []string{"2", "3"} {
			require.True(t, sh.Take("a", id, now))
		}
		sh.Refused("b", now)
		ni, err := GrantFree(d, sh, "a", nodes, nil, nil, now)
		require.NoError(t, err)
		assert.Equal(t, -1, ni)
		assert.Equal(t, 0, d.Busy(0), "no hold without the slot")
	})
	t.Run("every node lost", func(t *testing.T) {
		d, sh := setup()
		ni, err := GrantFree(d, sh, "a", nodes, map[string]bool{"1": true, "2": true, "3": true}, nil, now)
		assert.ErrorIs(t, err, ErrNoFeasibleNode)
		assert.Equal(t, -1, ni)
	})
}

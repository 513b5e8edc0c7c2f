package scheduler

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPickFree(t *testing.T) {
	nodes := []Node{
		{ID: "n1", Hostname: "fast", Weight: 48, Slots: 1},
		{ID: "n2", Hostname: "mid", Weight: 36, Slots: 2},
		{ID: "n3", Hostname: "slow", Weight: 12},
	}
	cases := []struct {
		name  string
		busy  []int
		lost  []string // node IDs
		avoid []string // hostnames
		want  int
		err   bool
	}{
		{name: "all free: the fastest", busy: []int{0, 0, 0}, want: 0},
		{name: "fastest full: the next", busy: []int{1, 0, 0}, want: 1},
		{name: "a node of two slots with one taken is free", busy: []int{1, 1, 0}, want: 1},
		{name: "no slots counts as one", busy: []int{1, 2, 0}, want: 2},
		{name: "all full: wait", busy: []int{1, 2, 1}, want: -1},
		{name: "beyond full (another job's slots) is full", busy: []int{3, 2, 0}, want: 2},
		{name: "lost fastest", busy: []int{0, 0, 0}, lost: []string{"n1"}, want: 1},
		{name: "avoided fastest", busy: []int{0, 0, 0}, avoid: []string{"fast"}, want: 1},
		{name: "avoided and lost", busy: []int{0, 0, 0}, lost: []string{"n2"}, avoid: []string{"fast"}, want: 2},
		{name: "the only one not avoided is busy: wait", busy: []int{0, 0, 1}, avoid: []string{"fast", "mid"}, want: -1},
		{name: "failed on every node: any again, fastest first", busy: []int{0, 0, 0}, avoid: []string{"fast", "mid", "slow"}, want: 0},
		{name: "failed on every node up: a lost one stays out", busy: []int{0, 0, 0}, lost: []string{"n1"}, avoid: []string{"mid", "slow"}, want: 1},
		{name: "every node lost", busy: []int{0, 0, 0}, lost: []string{"n1", "n2", "n3"}, want: -1, err: true},
		{name: "two lost, the third busy: wait", busy: []int{0, 0, 1}, lost: []string{"n1", "n2"}, want: -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lost := map[string]bool{}
			for _, id := range c.lost {
				lost[id] = true
			}
			got, err := PickFree(nodes, c.busy, lost, c.avoid)
			if c.err {
				require.ErrorIs(t, err, ErrNoFeasibleNode)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, c.want, got)
		})
	}
}

// TestSoonestFree: the audio waits while segments are pending, then goes to
// the node whose segment should end first, not to the fastest node.
func TestSoonestFree(t *testing.T) {
	nodes := []Node{{ID: "n1", Hostname: "a", Slots: 1}, {ID: "n2", Hostname: "b", Slots: 1}}
	d := NewDispatcher([]float64{40, 30, 30, 40}, []SpeedNode{{Name: "a", Speed: 2, Slots: 1}, {Name: "b", Speed: 2, Slots: 1}}, DispatchOptions{OneSegment: true, NoBackups: true})
	first := d.Next(0)
	require.Len(t, first, 2)
	ni, err := d.SoonestFree(nodes, 0, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, -1, ni, "two segments pending: wait")

	// Both 40s run (20 s each); node b's ends first and takes a 30.
	d.Finished(onNode(first, 1), 19)
	require.Len(t, d.Next(19), 1)
	ni, _ = d.SoonestFree(nodes, 19, nil, nil)
	assert.Equal(t, -1, ni, "one segment pending: wait")
	d.Finished(onNode(first, 0), 21)
	require.Len(t, d.Next(21), 1)
	// Node b's 30 started at 19 and ends at about 34; node a's at 36.
	ni, err = d.SoonestFree(nodes, 21, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, ni, "the node that frees first")

	ni, err = d.SoonestFree(nodes, 21, nil, []string{"b"})
	require.NoError(t, err)
	assert.Equal(t, 0, ni, "the task failed on b")
	ni, err = d.SoonestFree(nodes, 21, map[string]bool{"n1": true}, []string{"b"})
	require.NoError(t, err)
	assert.Equal(t, 1, ni, "failed on every node up: b again")
	_, err = d.SoonestFree(nodes, 21, map[string]bool{"n1": true, "n2": true}, nil)
	assert.ErrorIs(t, err, ErrNoFeasibleNode)
}

// onNode is the attempt of as on node n.
func onNode(as []Attempt, n int) Attempt {
	for _, a := range as {
		if a.Node == n {
			return a
		}
	}
	panic(fmt.Sprintf("no attempt on node %d", n))
}

package scheduler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFeasible(t *testing.T) {
	ok := Node{ID: "1", Hostname: "ok", Arch: "x86_64", State: "ready", Availability: "active", Weight: 4, HasImage: true}
	drained, down, paused, arm, noImage := ok, ok, ok, ok, ok
	drained.Hostname, drained.Availability = "drained", "drain"
	down.Hostname, down.State = "down", "down"
	paused.Hostname, paused.Availability = "paused", "pause"
	arm.Hostname, arm.Arch = "pi", "armv7l"
	noImage.Hostname, noImage.HasImage = "bare", false

	f := Feasible([]Node{ok, drained, down, paused, arm, noImage}, []string{"x86_64", "aarch64"})
	require.Len(t, f.Nodes, 1)
	assert.Equal(t, "ok", f.Nodes[0].Hostname)
	assert.Equal(t, map[string]string{"drained": "drained", "down": "down", "paused": "paused", "pi": "wrong arch", "bare": "no image"}, f.Rejected)
	assert.Equal(t, "down on 1; drained on 1; no image on 1; paused on 1; wrong arch on 1", f.Explain())

	all := Feasible([]Node{ok, arm}, nil)
	assert.Len(t, all.Nodes, 2, "no arch list: every arch")
}

func TestAssignEarliestFinish(t *testing.T) {
	nodes := []Node{{Hostname: "fast", Weight: 48, Slots: 1}, {Hostname: "mid", Weight: 36, Slots: 1}, {Hostname: "slow", Weight: 12, Slots: 1}}
	t.Run("equal segments in proportion to weight", func(t *testing.T) {
		costs := make([]float64, 24)
		for i := range costs {
			costs[i] = 10
		}
		got, err := Assign(costs, nodes)
		require.NoError(t, err)
		counts := make([]int, 3)
		for _, n := range got {
			counts[n]++
		}
		// 48:36:12 of 24 is 12:9:3.
		assert.InDelta(t, 12, counts[0], 1)
		assert.InDelta(t, 9, counts[1], 1)
		assert.InDelta(t, 3, counts[2], 1)
	})
	t.Run("largest first to the earliest finish", func(t *testing.T) {
		got, err := Assign([]float64{1, 100, 1}, nodes)
		require.NoError(t, err)
		assert.Equal(t, 0, got[1], "the big segment goes to the fastest node")
		assert.Equal(t, 1, got[0], "then the next earliest finish: mid is free")
		assert.Equal(t, 1, got[2], "mid again: its second finishes before slow's first would")
	})
	t.Run("no nodes", func(t *testing.T) {
		_, err := Assign([]float64{1}, nil)
		assert.ErrorIs(t, err, ErrNoFeasibleNode)
	})
}

func TestActive(t *testing.T) {
	node := func(host, state, avail string) Node {
		return Node{ID: host, Hostname: host, State: state, Availability: avail}
	}
	cases := []struct {
		name    string
		node    Node
		skipped string // "" = active
	}{
		{"ready and active", node("a", "ready", "active"), ""},
		{"no image or weight is no matter here", Node{ID: "b", Hostname: "b", State: "ready", Availability: "active", Arch: "armv7l"}, ""},
		{"down", node("c", "down", "active"), "node is down/active"},
		{"disconnected", node("d", "disconnected", "active"), "node is disconnected/active"},
		{"drained", node("e", "ready", "drain"), "node is ready/drain"},
		{"paused", node("f", "ready", "pause"), "node is ready/pause"},
		{"availability unknown", node("g", "ready", ""), "node is ready/"},
		{"down and drained", node("h", "unknown", "drain"), "node is unknown/drain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			active, skipped := Active([]Node{c.node})
			if c.skipped == "" {
				assert.Equal(t, []Node{c.node}, active)
				assert.Empty(t, skipped)
				return
			}
			assert.Empty(t, active)
			assert.Equal(t, map[string]string{c.node.Hostname: c.skipped}, skipped)
		})
	}
	t.Run("order kept", func(t *testing.T) {
		active, skipped := Active([]Node{node("z", "ready", "active"), node("y", "down", "active"), node("x", "ready", "active")})
		assert.Equal(t, []Node{node("z", "ready", "active"), node("x", "ready", "active")}, active)
		assert.Equal(t, map[string]string{"y": "node is down/active"}, skipped)
	})
}

func TestFeasibleFirstFailedFilterIsTheReason(t *testing.T) {
	ok := Node{Hostname: "n", Arch: "x86_64", State: "ready", Availability: "active", Weight: 4, HasImage: true}
	with := func(f func(*Node)) Node { n := ok; f(&n); return n }
	cases := []struct {
		name string
		node Node
		want string // "" = feasible
	}{
		{"feasible", ok, ""},
		{"down before drained", with(func(n *Node) { n.State, n.Availability = "down", "drain" }), "down"},
		{"drained before wrong arch", with(func(n *Node) { n.Availability, n.Arch = "drain", "armv7l" }), "drained"},
		{"paused", with(func(n *Node) { n.Availability = "pause" }), "paused"},
		{"wrong arch before no image", with(func(n *Node) { n.Arch, n.HasImage = "armv7l", false }), "wrong arch"},
		{"no image before no weight", with(func(n *Node) { n.HasImage, n.Weight = false, 0 }), "no image"},
		{"no weight", with(func(n *Node) { n.Weight = 0 }), "no weight"},
		{"negative weight", with(func(n *Node) { n.Weight = -1 }), "no weight"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := Feasible([]Node{c.node}, []string{"x86_64"})
			if c.want == "" {
				assert.Len(t, f.Nodes, 1)
				assert.Empty(t, f.Rejected)
				return
			}
			assert.Empty(t, f.Nodes)
			assert.Equal(t, map[string]string{"n": c.want}, f.Rejected)
		})
	}
}

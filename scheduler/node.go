package scheduler

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrNoFeasibleNode is returned when no node may run a task.
var ErrNoFeasibleNode = errors.New("no feasible node")

// Node is what the planner knows of a swarm node.
type Node struct {
	ID       string
	Hostname string
	Arch     string // uname name: x86_64, aarch64, armv7l
	State    string // ready, down, unknown, disconnected
	// Availability is active, pause or drain.
	Availability string
	// Weight is the node's relative speed: the dswarm.weight label, else
	// its CPU count.
	Weight float64
	// WeightLabelled says the weight came from the dswarm.weight label.
	WeightLabelled bool
	CPUs           float64
	Memory         int64
	HasImage       bool
	// Slots is how many tasks the node runs at once.
	Slots int
}

// filter is one placement rule: check tells whether a node passes, name is
// the reason a node that fails it is rejected ("wrong arch"), as
// Feasibility.Explain counts them ("wrong arch on 1").
type filter struct {
	name  string
	check func(Node) bool
}

// Feasibility is the outcome of the placement filters: the nodes that may
// run tasks, and why each other node may not.
type Feasibility struct {
	Nodes    []Node
	Rejected map[string]string // hostname -> reason
}

// Explain summarises the rejections, e.g. "drained on 1; wrong arch on 1".
func (f Feasibility) Explain() string {
	counts := map[string]int{}
	for _, why := range f.Rejected {
		counts[why]++
	}
	var parts []string
	for why, n := range counts {
		parts = append(parts, fmt.Sprintf("%s on %d", why, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// Feasible runs the placement filters: a node must be ready, active (not
// drained or paused), of an architecture the image supports (any when archs
// is empty), have the image (Node.HasImage, which stack.Nodes sets true
// until a caller checks), and a positive weight. The first filter a node
// fails is its reason.
func Feasible(nodes []Node, archs []string) Feasibility {
	filters := []filter{
		{"down", func(n Node) bool { return n.State == "ready" }},
		{"drained", func(n Node) bool { return n.Availability != "drain" }},
		{"paused", func(n Node) bool { return n.Availability != "pause" }},
		{"wrong arch", func(n Node) bool { return len(archs) == 0 || contains(archs, n.Arch) }},
		{"no image", func(n Node) bool { return n.HasImage }},
		{"no weight", func(n Node) bool { return n.Weight > 0 }},
	}
	f := Feasibility{Rejected: map[string]string{}}
nodes:
	for _, n := range nodes {
		for _, flt := range filters {
			if !flt.check(n) {
				f.Rejected[n.Hostname] = flt.name
				continue nodes
			}
		}
		f.Nodes = append(f.Nodes, n)
	}
	return f
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Assign places segments on nodes before they run, by earliest estimated
// finish: segments are taken largest first, and each goes to the slot that
// would finish it soonest given the node's weight (speed) and what it holds
// already. The result maps segment index to node index. With equal segments
// this hands each node a share in proportion to its weight.
func Assign(costs []float64, nodes []Node) ([]int, error) {
	if len(nodes) == 0 {
		return nil, ErrNoFeasibleNode
	}
	type slot struct {
		node int
		free float64
	}
	var slots []slot
	for i, n := range nodes {
		for s := 0; s < max(n.Slots, 1); s++ {
			slots = append(slots, slot{node: i})
		}
	}
	out := make([]int, len(costs))
	for _, seg := range costliestFirst(costs) {
		best, bestFinish := -1, 0.0
		for i, s := range slots {
			finish := s.free + costs[seg]/nodes[s.node].Weight
			if best < 0 || finish < bestFinish-1e-12 {
				best, bestFinish = i, finish
			}
		}
		slots[best].free = bestFinish
		out[seg] = slots[best].node
	}
	return out, nil
}

// costliestFirst returns the segment indices by cost, largest first (ties
// in segment order).
func costliestFirst(costs []float64) []int {
	order := make([]int, len(costs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return costs[order[a]] > costs[order[b]] })
	return order
}

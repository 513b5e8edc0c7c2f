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
	// Image is the worker image on the node as a probe found it (image.go);
	// unchecked, the node is assumed to run it.
	Image NodeImage
	// Slots is how many tasks the node runs at once.
	Slots int
}

// filter is one placement rule: check tells whether a node passes, name is
// the reason a node that fails it is rejected ("wrong arch"), as
// Feasibility.Explain counts them ("wrong arch on 1").
type filter struct {
	name  string
	check func(Node) bool
	// why, when set, words the reason for the node at hand instead of name.
	why func(Node) string
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
// until a caller checks) and the image there be for its architecture
// (Node.Image, when a probe checked it: "no dswarm/worker:latest for
// aarch64 (image missing)"), and a positive weight. The first filter a node
// fails is its reason.
func Feasible(nodes []Node, archs []string) Feasibility {
	return run(nodes, append(stateFilters(),
		filter{name: "wrong arch", check: func(n Node) bool { return len(archs) == 0 || contains(archs, n.Arch) }},
		filter{name: "no image", check: func(n Node) bool { return n.HasImage }},
		imageFilter(),
		filter{name: "no weight", check: func(n Node) bool { return n.Weight > 0 }},
	))
}

// stateFilters are the filters on a node's swarm state alone, whatever
// the task: ready, and neither drained nor paused.
func stateFilters() []filter {
	return []filter{
		{name: "down", check: func(n Node) bool { return n.State == "ready" }},
		{name: "drained", check: func(n Node) bool { return n.Availability != "drain" }},
		{name: "paused", check: func(n Node) bool { return n.Availability != "pause" }},
	}
}

// run passes each node through the filters in order; the first it fails
// is its reason.
func run(nodes []Node, filters []filter) Feasibility {
	f := Feasibility{Rejected: map[string]string{}}
	for _, n := range nodes {
		if why, ok := fails(n, filters); ok {
			f.Rejected[n.Hostname] = why
			continue
		}
		f.Nodes = append(f.Nodes, n)
	}
	return f
}

// fails returns the name of the first filter node n fails, if any.
func fails(n Node, filters []filter) (string, bool) {
	for _, flt := range filters {
		if !flt.check(n) {
			if flt.why != nil {
				return flt.why(n), true
			}
			return flt.name, true
		}
	}
	return "", false
}

// Active splits nodes into those that can run a task now, before any check
// of arch, image or weight (the commands that run one task on every node:
// nodes, storage check, bench), and the others, each with its state as the
// reason ("node is down/active"). Active means Docker's "active"
// availability, not merely not drained or paused.
func Active(nodes []Node) ([]Node, map[string]string) {
	filters := append(stateFilters(), filter{name: "not active", check: func(n Node) bool { return n.Availability == "active" }})
	var active []Node
	skipped := map[string]string{}
	for _, n := range nodes {
		if _, ok := fails(n, filters); ok {
			skipped[n.Hostname] = fmt.Sprintf("node is %s/%s", n.State, n.Availability)
			continue
		}
		active = append(active, n)
	}
	return active, skipped
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

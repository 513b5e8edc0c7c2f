package scheduler

import (
	"fmt"
	"math"
)

// PickFree chooses the node for a task the Dispatcher does not place (the
// audio track, the merge, a retry): the fastest node (by weight) with a
// free slot that is neither lost nor avoided. busy is how many of each
// node's slots are taken (Dispatcher.Busy), lost the IDs of nodes that
// left during the job, avoid the hostnames the task failed on. When the
// task failed on every node still up, it may go to any of them again:
// trying one again beats giving up. It returns -1 while every candidate is
// busy, and ErrNoFeasibleNode once every node is lost.
func PickFree(nodes []Node, busy []int, lost map[string]bool, avoid []string) (int, error) {
	usable := candidates(nodes, lost, avoid)
	best := -1
	for i, n := range nodes {
		if !usable(n) || busy[i] >= max(n.Slots, 1) {
			continue
		}
		if best < 0 || n.Weight > nodes[best].Weight {
			best = i
		}
	}
	if best < 0 && len(lost) == len(nodes) {
		return -1, fmt.Errorf("%w: every node is down", ErrNoFeasibleNode)
	}
	return best, nil
}

// SoonestFree chooses the node for a task that takes no slot of its own
// (the audio track) once every segment has been handed out: the node whose
// slot frees first, so that the task fills the tail of the job, where that
// node would wait for the others, instead of slowing a node's share from
// the start. Lost and avoided nodes are skipped as in PickFree. It returns
// -1 while segments are still pending, and ErrNoFeasibleNode once every
// node is lost. nodes are the dispatcher's nodes, in its order.
func (d *Dispatcher) SoonestFree(nodes []Node, now float64, lost map[string]bool, avoid []string) (int, error) {
	if d.Pending() > 0 {
		return -1, nil
	}
	usable := candidates(nodes, lost, avoid)
	best, bestAt := -1, math.Inf(1)
	for i, n := range nodes {
		if !usable(n) || d.down[i] {
			continue
		}
		if at := d.freeAt(i, now); best < 0 || at < bestAt || at == bestAt && d.speed[i] > d.speed[best] {
			best, bestAt = i, at
		}
	}
	if best < 0 {
		return -1, fmt.Errorf("%w: every node is down", ErrNoFeasibleNode)
	}
	return best, nil
}

// candidates says which nodes a task may go to: not lost, and not one it
// failed on (avoid, by hostname) unless it failed on every node still up,
// when any of those may try again.
func candidates(nodes []Node, lost map[string]bool, avoid []string) func(Node) bool {
	avoided := map[string]bool{}
	for _, h := range avoid {
		avoided[h] = true
	}
	for _, n := range nodes {
		if !lost[n.ID] && !avoided[n.Hostname] {
			return func(n Node) bool { return !lost[n.ID] && !avoided[n.Hostname] }
		}
	}
	return func(n Node) bool { return !lost[n.ID] }
}

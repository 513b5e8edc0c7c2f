package scheduler

import "fmt"

// PickFree chooses the node for a task the Dispatcher does not place (the
// audio track, the merge, a retry): the fastest node (by weight) with a
// free slot that is neither lost nor avoided. busy is how many of each
// node's slots are taken (Dispatcher.Busy), lost the IDs of nodes that
// left during the job, avoid the hostnames the task failed on. When the
// task failed on every node still up, it may go to any of them again:
// trying one again beats giving up. It returns -1 while every candidate is
// busy, and ErrNoFeasibleNode once every node is lost.
func PickFree(nodes []Node, busy []int, lost map[string]bool, avoid []string) (int, error) {
	avoided := map[string]bool{}
	for _, h := range avoid {
		avoided[h] = true
	}
	alive := 0
	for _, n := range nodes {
		if !lost[n.ID] && !avoided[n.Hostname] {
			alive++
		}
	}
	if alive == 0 {
		avoided = nil
	}
	best := -1
	for i, n := range nodes {
		if lost[n.ID] || avoided[n.Hostname] || busy[i] >= max(n.Slots, 1) {
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

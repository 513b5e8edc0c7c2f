package scheduler

// queuePolicy runs fixed per-node queues of segment ranges, one task per
// free slot, in queue order: the shape of every static plan.
type queuePolicy struct {
	name    string
	costs   []float64
	slots   []int
	queues  [][]segRange
	running []int
	nextID  int
}

func (q *queuePolicy) Name() string { return q.name }

func (q *queuePolicy) Next(now float64) []Attempt {
	var out []Attempt
	for n := range q.queues {
		for q.running[n] < max(q.slots[n], 1) && len(q.queues[n]) > 0 {
			r := q.queues[n][0]
			q.queues[n] = q.queues[n][1:]
			cost := 0.0
			for i := r.First; i < r.Last; i++ {
				cost += q.costs[i]
			}
			out = append(out, Attempt{ID: q.nextID, First: r.First, Last: r.Last, Node: n, Start: now, Cost: cost})
			q.nextID++
			q.running[n]++
		}
	}
	return out
}

func (q *queuePolicy) Finished(a Attempt, now float64) []Attempt {
	q.running[a.Node]--
	return nil
}

func newQueuePolicy(name string, costs []float64, nodes []SpeedNode) *queuePolicy {
	q := &queuePolicy{name: name, costs: costs, queues: make([][]segRange, len(nodes)), running: make([]int, len(nodes))}
	for _, n := range nodes {
		q.slots = append(q.slots, n.Slots)
	}
	return q
}

// StaticWeights is the original cluster script: the timeline is split once
// into one contiguous piece per node, sized by the configured weights.
func StaticWeights(costs []float64, nodes []SpeedNode) Policy {
	q := newQueuePolicy("static-weights", costs, nodes)
	total, weights := 0.0, 0.0
	for _, c := range costs {
		total += c
	}
	for _, n := range nodes {
		weights += n.Speed
	}
	first, acc, target := 0, 0.0, 0.0
	for i, n := range nodes {
		target += total * n.Speed / weights
		last := first
		for last < len(costs) && (acc+costs[last]/2 < target || i == len(nodes)-1) {
			acc += costs[last]
			last++
		}
		if last > first {
			q.queues[i] = []segRange{{first, last}}
		}
		first = last
	}
	return q
}

// RoundRobin hands segments to nodes in turn, equal counts whatever their
// speed.
func RoundRobin(costs []float64, nodes []SpeedNode) Policy {
	q := newQueuePolicy("equal-round-robin", costs, nodes)
	for i := range costs {
		n := i % len(nodes)
		q.queues[n] = append(q.queues[n], segRange{i, i + 1})
	}
	return q
}

// MinMM is the scheduling paper's policy: segments sorted by complexity
// (largest first), each given to the node whose estimated finish, by the
// configured capabilities, stays lowest; finish times are balanced once,
// before the job, and never revised.
func MinMM(costs []float64, nodes []SpeedNode) Policy {
	q := newQueuePolicy("min-mm", costs, nodes)
	load := make([]float64, len(nodes))
	for _, s := range costliestFirst(costs) {
		best := 0
		for n := range nodes {
			if (load[n]+costs[s])/nodes[n].Speed < (load[best]+costs[s])/nodes[best].Speed {
				best = n
			}
		}
		load[best] += costs[s]
		q.queues[best] = append(q.queues[best], segRange{s, s + 1})
	}
	return q
}

package scheduler

// ProbeSegmentsPerSlot is how many segments per slot of the cluster a job
// needs before nodes never measured get a probe: with fewer, a probe on a
// node that really is slow could hold the last segment, and the job is too
// short for what it learns to pay back.
const ProbeSegmentsPerSlot = 2

// probeState is which nodes still wait for a probe and which attempt
// probes each node.
type probeState struct {
	on      bool
	done    []bool
	attempt []int // by node: the probe's attempt ID, -1 for none
}

func newProbeState(segments int, nodes []SpeedNode) probeState {
	slots := 0
	for _, n := range nodes {
		slots += max(n.Slots, 1)
	}
	p := probeState{on: slots > 0 && segments >= ProbeSegmentsPerSlot*slots, done: make([]bool, len(nodes)), attempt: make([]int, len(nodes))}
	for i, n := range nodes {
		p.done[i] = n.Measured
		p.attempt[i] = -1
	}
	return p
}

// probes hands every node that was never measured (neither in an earlier
// job nor in this one) and that the earliest-finish rule left without a
// task the smallest segment left, once, whatever its starting speed says:
// speeds are learnt only from tasks that run, and the earliest-finish rule
// never gives a node believed slow a task, so a wrong low weight would
// otherwise stay wrong for good. A node that got a task anyway is measured
// by it and needs no probe. The smallest segment
// bounds what a node that really is slow can cost, and a late probe gets a
// backup like any straggler.
func (d *Dispatcher) probes(now float64) []Attempt {
	if !d.probe.on {
		return nil
	}
	var out []Attempt
	for n := range d.nodes {
		if d.probe.done[n] || d.learnt[n] || d.Why[n].Tasks > 0 || d.full(n) || len(d.pending) == 0 {
			continue
		}
		pi, si := d.smallest()
		d.takePending(pi, si)
		a := d.start(n, si, si+1, now, false)
		d.probe.done[n], d.probe.attempt[n] = true, a.ID
		d.Why[n].Probed = true
		out = append(out, a)
	}
	return out
}

// unprobe lets node n be probed again when its probe a could not start.
func (d *Dispatcher) unprobe(a Attempt) {
	if d.probe.attempt[a.Node] == a.ID {
		d.probe.done[a.Node], d.probe.attempt[a.Node] = false, -1
		d.Why[a.Node].Probed = false
	}
}

// smallest finds the cheapest pending segment: its pending range and index.
func (d *Dispatcher) smallest() (int, int) {
	pi, si := -1, -1
	for i, p := range d.pending {
		for s := p.First; s < p.Last; s++ {
			if si < 0 || d.costs[s] < d.costs[si] {
				pi, si = i, s
			}
		}
	}
	return pi, si
}

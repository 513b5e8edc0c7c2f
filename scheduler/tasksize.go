package scheduler

import (
	"math"
)

// chunk picks the range node n should take now, or none if another node
// would finish even the smallest piece sooner.
func (d *Dispatcher) chunk(n int, now float64) (int, int, bool) {
	total := 0.0
	for i := range d.nodes {
		if !d.down[i] {
			total += d.speed[i] * float64(max(d.nodes[i].Slots, 1))
		}
	}
	if d.opt.OneSegment {
		return d.costliest(n, now, total)
	}
	share := d.remaining() * d.speed[n] / d.unsureTotal() / d.opt.Guide
	floor := d.speed[n] * d.opt.Startup / d.opt.StartupShare
	ceiling := d.speed[n] * d.prefix[len(d.costs)] / total * d.opt.MaxShare
	target := math.Max(math.Min(share, ceiling), floor)
	// Take from the front of the largest pending range: big, contiguous.
	big := 0
	for i, p := range d.pending {
		if d.rangeCost(p.First, p.Last) > d.rangeCost(d.pending[big].First, d.pending[big].Last) {
			big = i
		}
	}
	p := d.pending[big]
	last := p.First + 1
	for last < p.Last && d.rangeCost(p.First, last) < target {
		last++
	}
	// Leave no tail too small for a task of its own.
	if p.Last-last > 0 && d.rangeCost(last, p.Last) < floor/4 {
		last = p.Last
	}
	// Take work only if this node would finish it before the job's
	// projected end (all work left at everyone's speed); shrink the piece to
	// fit, and leave it to faster nodes if not even one segment fits.
	end := now + d.opt.Startup + (d.remaining()+d.inflight())/total
	for last > p.First+1 && now+d.opt.Startup+d.rangeCost(p.First, last)/d.speed[n] > end {
		last--
	}
	if now+d.opt.Startup+d.rangeCost(p.First, last)/d.speed[n] > end && d.fasterWillBeFree(n, now, d.rangeCost(p.First, last)) {
		return 0, 0, false
	}
	if last == p.Last {
		d.pending = append(d.pending[:big], d.pending[big+1:]...)
	} else {
		d.pending[big].First = last
	}
	return p.First, last, true
}

// costliest hands node n the costliest segment left, if n would finish it
// before the job's projected end or no other node would finish it sooner.
func (d *Dispatcher) costliest(n int, now, total float64) (int, int, bool) {
	pi, si := -1, -1
	for i, p := range d.pending {
		for s := p.First; s < p.Last; s++ {
			if si < 0 || d.costs[s] > d.costs[si] {
				pi, si = i, s
			}
		}
	}
	end := now + d.opt.Startup + (d.remaining()+d.inflight())/total
	if now+d.opt.Startup+d.costs[si]/d.speed[n] > end && d.fasterWillBeFree(n, now, d.costs[si]) {
		return 0, 0, false
	}
	d.takePending(pi, si)
	return si, si + 1, true
}

// fasterWillBeFree reports whether another node would finish cost sooner
// than n, counting the time until it is free.
func (d *Dispatcher) fasterWillBeFree(n int, now, cost float64) bool {
	mine := now + d.opt.Startup + cost/d.speed[n]
	for m := range d.nodes {
		if m != n && d.freeAt(m, now)+d.opt.Startup+cost/d.speed[m] < mine {
			return true
		}
	}
	return false
}

// unsureTotal is the cluster's speed (per slot times slots, nodes up) with
// every node not yet measured, in this job or an earlier one, counted as
// fast as the fastest node: a task sized on a wrong low weight would be too
// big to take back once the truth is learnt.
func (d *Dispatcher) unsureTotal() float64 {
	fastest := 0.0
	for n := range d.nodes {
		if !d.down[n] {
			fastest = max(fastest, d.speed[n])
		}
	}
	total := 0.0
	for n := range d.nodes {
		if d.down[n] {
			continue
		}
		s := d.speed[n]
		if !d.learnt[n] && !d.nodes[n].Measured {
			s = fastest
		}
		total += s * float64(max(d.nodes[n].Slots, 1))
	}
	return total
}

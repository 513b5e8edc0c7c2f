package scheduler

import (
	"math"
)

// SegmentCosts estimates each segment's encoding cost in frame units:
// frames times a complexity proxy, the segment's compressed bytes per frame
// against the mean (damped: half the cost is per frame whatever its size,
// because decoding and motion search cost per frame too).
func SegmentCosts(segs []Segment) []float64 {
	var frames, bytes float64
	for _, s := range segs {
		frames += float64(s.Count)
		bytes += float64(s.Bytes)
	}
	costs := make([]float64, len(segs))
	for i, s := range segs {
		c := float64(s.Count)
		if bytes > 0 && s.Count > 0 {
			rel := (float64(s.Bytes) / float64(s.Count)) / (bytes / frames)
			c *= 0.5 + 0.5*math.Min(math.Max(rel, 0.25), 4)
		}
		costs[i] = c
	}
	return costs
}

func (d *Dispatcher) rangeCost(first, last int) float64 { return d.prefix[last] - d.prefix[first] }

func (d *Dispatcher) remaining() float64 {
	r := 0.0
	for _, p := range d.pending {
		r += d.rangeCost(p.First, p.Last)
	}
	return r
}

// inflight is the cost of running attempts not yet done (twins once).
func (d *Dispatcher) inflight() float64 {
	sum := 0.0
	for _, a := range d.running {
		if a.Backup {
			continue
		}
		sum += a.Cost - d.progress[a.ID].Done
	}
	return sum
}

// eta is when a running attempt is expected to end: from its reported
// progress and its node's current speed when there is progress, else from
// its start.
func (d *Dispatcher) eta(a Attempt) float64 {
	if p, ok := d.progress[a.ID]; ok {
		return p.At + (a.Cost-p.Done)/d.speed[a.Node]
	}
	return a.Start + d.opt.Startup + a.Cost/d.speed[a.Node]
}

// freeAt is when node n can start something new: now if a slot is free,
// else when its first running task should end.
func (d *Dispatcher) freeAt(n int, now float64) float64 {
	if d.down[n] {
		return math.Inf(1)
	}
	if d.busy(n) < max(d.nodes[n].Slots, 1) {
		return now
	}
	t := math.Inf(1)
	for _, a := range d.running {
		if a.Node == n {
			t = math.Min(t, d.eta(a))
		}
	}
	return math.Max(t, now)
}

package scheduler

import (
	"math"
)

// backups starts copies of stragglers on idle slots.
func (d *Dispatcher) backups(now float64) []Attempt {
	var out []Attempt
	for n := range d.nodes {
		for !d.full(n) {
			best, bestGain := -1, 0.0
			for i, a := range d.running {
				if a.Node == n || d.hasTwin(a) {
					continue
				}
				mine := now + d.opt.Startup + a.Cost/d.speed[n]
				theirs := math.Max(d.eta(a), now)
				// Clearly sooner: by more than a start-up and 10%.
				if gain := theirs - mine; gain > d.opt.Startup+0.1*(theirs-now) && gain > bestGain {
					best, bestGain = i, gain
				}
			}
			if best < 0 {
				break
			}
			a := d.running[best]
			out = append(out, d.start(n, a.First, a.Last, now, true))
		}
	}
	return out
}

func (d *Dispatcher) hasTwin(a Attempt) bool {
	for _, b := range d.running {
		if b.ID != a.ID && b.First == a.First && b.Last == a.Last {
			return true
		}
	}
	return false
}

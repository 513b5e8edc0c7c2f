package scheduler

import (
	"sort"
)

// Progress implements ProgressObserver: the rate since the last report is
// the node's speed now, so a slowdown shows within one report.
func (d *Dispatcher) Progress(a Attempt, done, now float64) {
	prev, ok := d.progress[a.ID]
	d.progress[a.ID] = progressMark{done, now}
	if !ok || now <= prev.At || done <= prev.Done {
		return
	}
	d.learn(a.Node, (done-prev.Done)/(now-prev.At))
}

// Measured records the speed attempt a ran at, as its encoder reported it
// (ffmpeg's fps over the task, without container start-up): a better
// measure than the wall time Finished would otherwise use.
func (d *Dispatcher) Measured(a Attempt, rate float64) {
	if rate <= 0 {
		return
	}
	d.measured[a.ID] = true
	d.learn(a.Node, rate)
}

func (d *Dispatcher) learn(n int, rate float64) {
	if d.learnt[n] {
		d.speed[n] = 0.5*d.speed[n] + 0.5*rate
	} else {
		d.speed[n], d.learnt[n] = rate, true
	}
	d.rescaleUnlearnt()
	for m := range d.nodes {
		d.Why[m].LearntSpeed = d.speed[m]
	}
}

// observe lowers the speed of nodes whose running tasks are late: a task of
// cost c running for t seconds past start-up means the node does at most
// c/t per second.
func (d *Dispatcher) observe(now float64) {
	for _, a := range d.running {
		work := now - a.Start - d.opt.Startup
		if _, ok := d.progress[a.ID]; ok || work <= 0 {
			continue
		}
		if bound := a.Cost / work; bound < d.speed[a.Node] {
			d.speed[a.Node] = bound
		}
	}
}

// rescaleUnlearnt moves nodes without a measurement by the median ratio of
// measured to configured speed of the others: configured weights are often
// right relative to each other and wrong in scale.
func (d *Dispatcher) rescaleUnlearnt() {
	var ratios []float64
	for n := range d.nodes {
		if d.learnt[n] && d.nodes[n].Speed > 0 {
			ratios = append(ratios, d.speed[n]/d.nodes[n].Speed)
		}
	}
	if len(ratios) == 0 {
		return
	}
	sort.Float64s(ratios)
	k := ratios[len(ratios)/2]
	for n := range d.nodes {
		if !d.learnt[n] {
			d.speed[n] = d.nodes[n].Speed * k // a late task lowers it again (observe)
		}
	}
}

// Learnt is each node's speed as learnt in this job (cost units per
// second), 0 for a node with no measurement.
func (d *Dispatcher) Learnt() []float64 {
	out := make([]float64, len(d.nodes))
	for n := range d.nodes {
		if d.learnt[n] {
			out[n] = d.speed[n]
		}
	}
	return out
}

package stack

import (
	"sync"
	"time"
)

// Pool shares the nodes' slots between the jobs a scheduler runs at once.
// Each job may hold up to its fair share (the cluster's slots over the jobs
// that joined); beyond that it may take a free slot only while no other
// job is being refused one. Nothing is preempted: a job that wants more
// gets the next slots that free, within a segment's time.
type Pool struct {
	mu       sync.Mutex
	slots    map[string]int            // node ID -> slots
	used     map[string]map[string]int // node ID -> job -> slots held
	jobs     map[string]bool
	refused  map[string]time.Time // job -> when it was last refused a slot
	patience time.Duration
}

// NewPool makes an empty pool.
func NewPool() *Pool {
	return &Pool{slots: map[string]int{}, used: map[string]map[string]int{}, jobs: map[string]bool{}, refused: map[string]time.Time{}, patience: time.Second}
}

// Join adds a job and the nodes it may use, with their slots.
func (p *Pool) Join(job string, slots map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jobs[job] = true
	for id, n := range slots {
		p.slots[id] = max(n, 1)
	}
}

// Leave removes a job; its slots must have been released.
func (p *Pool) Leave(job string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.jobs, job)
	delete(p.refused, job)
	for _, byJob := range p.used {
		delete(byJob, job)
	}
}

// Others is how many of a node's slots other jobs hold.
func (p *Pool) Others(job, node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for j, k := range p.used[node] {
		if j != job {
			n += k
		}
	}
	return n
}

// Take takes a slot on node for job, if one is free and fairness allows.
func (p *Pool) Take(job, node string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	busy, mine, total := 0, 0, 0
	for _, k := range p.used[node] {
		busy += k
	}
	for _, byJob := range p.used {
		mine += byJob[job]
	}
	for _, n := range p.slots {
		total += n
	}
	fair := (total + len(p.jobs) - 1) / max(len(p.jobs), 1)
	if busy >= p.slots[node] {
		return false
	}
	if mine >= fair {
		for j, at := range p.refused {
			if j != job && p.jobs[j] && now.Sub(at) < p.patience {
				p.refused[job] = now
				return false // another job waits for its share
			}
		}
	}
	if p.used[node] == nil {
		p.used[node] = map[string]int{}
	}
	p.used[node][job]++
	return true
}

// Refused records that job wanted a slot and got none (a node was full).
func (p *Pool) Refused(job string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused[job] = now
}

// Release gives back a slot of job on node.
func (p *Pool) Release(job, node string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.used[node][job] > 0 {
		p.used[node][job]--
	}
}

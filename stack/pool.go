package stack

import (
	"sync"
	"time"

	"github.com/dswarm/dswarm/scheduler"
)

// Pool shares the nodes' slots between the jobs a scheduler runs at once,
// from their goroutines: scheduler.Shares decides, Pool only locks.
type Pool struct {
	mu     sync.Mutex
	shares *scheduler.Shares
}

// NewPool makes an empty pool.
func NewPool() *Pool { return &Pool{shares: scheduler.NewShares()} }

// Join adds a job and the nodes it may use, with their slots.
func (p *Pool) Join(job string, slots map[string]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shares.Join(job, slots)
}

// Leave removes a job; its slots must have been released.
func (p *Pool) Leave(job string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shares.Leave(job)
}

// Others is how many of a node's slots other jobs hold.
func (p *Pool) Others(job, node string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shares.Others(job, node)
}

// Take takes a slot on node for job, if one is free and fairness allows.
func (p *Pool) Take(job, node string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.shares.Take(job, node, now)
}

// Refused records that job wanted a slot and got none (a node was full).
func (p *Pool) Refused(job string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shares.Refused(job, now)
}

// Release gives back a slot of job on node.
func (p *Pool) Release(job, node string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shares.Release(job, node)
}

// Grant is scheduler.Grant under the pool's lock: what job starts now.
func (p *Pool) Grant(d *scheduler.Dispatcher, job string, nodeIDs []string, now float64, at time.Time, racing func(scheduler.Attempt) bool) []scheduler.Attempt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return scheduler.Grant(d, p.shares, job, nodeIDs, now, at, racing)
}

// GrantFree is scheduler.GrantFree under the pool's lock: where a task
// the dispatcher does not place starts now, -1 for nowhere yet.
func (p *Pool) GrantFree(d *scheduler.Dispatcher, job string, nodes []scheduler.Node, lost map[string]bool, avoid []string, at time.Time) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return scheduler.GrantFree(d, p.shares, job, nodes, lost, avoid, at)
}

package scheduler

import "time"

// Shares divides the nodes' slots between the jobs a scheduler runs at
// once. Each job may hold up to its fair share (the cluster's slots over
// the jobs that joined); beyond that it may take a free slot only while no
// other job is being refused one. Nothing is preempted: a job that wants
// more gets the next slots that free, within a segment's time. Shares is
// not safe for concurrent use; the caller locks (stack.Pool does).
type Shares struct {
	slots   map[string]int            // node ID -> slots
	used    map[string]map[string]int // node ID -> job -> slots held
	jobs    map[string]bool
	refused map[string]time.Time // job -> when it was last refused a slot
	// Patience is how long a refusal holds other jobs to their share.
	Patience time.Duration
}

// NewShares makes empty shares with a patience of one second.
func NewShares() *Shares {
	return &Shares{slots: map[string]int{}, used: map[string]map[string]int{}, jobs: map[string]bool{}, refused: map[string]time.Time{}, Patience: time.Second}
}

// Join adds a job and the nodes it may use, with their slots.
func (s *Shares) Join(job string, slots map[string]int) {
	s.jobs[job] = true
	for id, n := range slots {
		s.slots[id] = max(n, 1)
	}
}

// Leave removes a job; its slots must have been released.
func (s *Shares) Leave(job string) {
	delete(s.jobs, job)
	delete(s.refused, job)
	for _, byJob := range s.used {
		delete(byJob, job)
	}
}

// Others is how many of a node's slots other jobs hold.
func (s *Shares) Others(job, node string) int {
	n := 0
	for j, k := range s.used[node] {
		if j != job {
			n += k
		}
	}
	return n
}

// Fair is a job's fair share: the cluster's slots over the jobs, rounded up.
func (s *Shares) Fair() int {
	total := 0
	for _, n := range s.slots {
		total += n
	}
	return (total + len(s.jobs) - 1) / max(len(s.jobs), 1)
}

// Take takes a slot on node for job at time now, if one is free and
// fairness allows, and reports whether it did. Refused so, the job counts
// as waiting for its share from now.
func (s *Shares) Take(job, node string, now time.Time) bool {
	busy, mine := 0, 0
	for _, k := range s.used[node] {
		busy += k
	}
	for _, byJob := range s.used {
		mine += byJob[job]
	}
	if busy >= s.slots[node] {
		return false
	}
	if mine >= s.Fair() {
		for j, at := range s.refused {
			if j != job && s.jobs[j] && now.Sub(at) < s.Patience {
				s.refused[job] = now
				return false // another job waits for its share
			}
		}
	}
	if s.used[node] == nil {
		s.used[node] = map[string]int{}
	}
	s.used[node][job]++
	return true
}

// Refused records that job wanted a slot at time now and got none.
func (s *Shares) Refused(job string, now time.Time) {
	s.refused[job] = now
}

// Release gives back a slot of job on node.
func (s *Shares) Release(job, node string) {
	if s.used[node][job] > 0 {
		s.used[node][job]--
	}
}

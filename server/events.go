package server

import "sync"

// broker fans job records out to the event streams. Each subscriber keeps
// the latest record per job until it reads them: a slow reader skips
// intermediate states, never a job's latest one (each record is the whole
// state of its job).
type broker struct {
	mu   sync.Mutex
	subs map[*subscriber]bool
}

type subscriber struct {
	mu      sync.Mutex
	pending map[string]*Record
	order   []string
	notify  chan struct{}
}

func newBroker() *broker { return &broker{subs: map[*subscriber]bool{}} }

func (b *broker) subscribe() (*subscriber, func()) {
	s := &subscriber{pending: map[string]*Record{}, notify: make(chan struct{}, 1)}
	b.mu.Lock()
	b.subs[s] = true
	b.mu.Unlock()
	return s, func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	}
}

func (b *broker) publish(r *Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		if _, ok := s.pending[r.ID]; !ok {
			s.order = append(s.order, r.ID)
		}
		s.pending[r.ID] = r
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
	}
}

// drain takes the records published since the last drain, one per job, in
// the order the jobs first changed.
func (s *subscriber) drain() []*Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Record, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.pending[id])
	}
	s.order, s.pending = nil, map[string]*Record{}
	return out
}

package server

import "sync"

// broker fans job records out to the event streams. A slow reader loses
// intermediate records, never the latest: each record is the whole state.
type broker struct {
	mu   sync.Mutex
	subs map[chan *Record]bool
}

func newBroker() *broker { return &broker{subs: map[chan *Record]bool{}} }

func (b *broker) subscribe() (chan *Record, func()) {
	ch := make(chan *Record, 64)
	b.mu.Lock()
	b.subs[ch] = true
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *broker) publish(r *Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- r:
		default:
			// Full: drop the oldest so the newest gets in.
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- r:
			default:
			}
		}
	}
}

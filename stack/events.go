package stack

import (
	"context"
	"sync"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// EventSource is the engine's event stream; *client.Client has it. An
// Engine without it (the unit tests' fake) is only polled.
type EventSource interface {
	Events(ctx context.Context, options events.ListOptions) (<-chan events.Message, <-chan error)
}

// watcher wakes the tasks' waiters on the engine's events instead of
// leaving them to their next poll. A manager's stream has service and node
// events for the whole swarm, but container events only for its own
// containers: Swarm publishes no event when a task on another node changes
// state. So a task on the manager, a removed service and a node that goes
// down are seen at once, and tasks elsewhere still by the poll.
type watcher struct {
	src  EventSource
	mu   sync.Mutex
	subs map[string]chan struct{} // service ID -> its waiter's wake-up
	stop context.CancelFunc
}

// subscribe returns a channel that receives when something may have
// happened to the service; unsubscribe when done. The event stream runs
// while anyone is subscribed.
func (w *watcher) subscribe(serviceID string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs == nil {
		w.subs = map[string]chan struct{}{}
	}
	ch := make(chan struct{}, 1)
	w.subs[serviceID] = ch
	if w.stop == nil && w.src != nil {
		ctx, cancel := context.WithCancel(context.Background())
		w.stop = cancel
		go w.run(ctx)
	}
	return ch
}

func (w *watcher) unsubscribe(serviceID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.subs, serviceID)
	if len(w.subs) == 0 && w.stop != nil {
		w.stop()
		w.stop = nil
	}
}

// run follows the event stream until ctx ends, reconnecting after errors
// (the poll covers the gap).
func (w *watcher) run(ctx context.Context) {
	f := filters.NewArgs(
		filters.Arg("type", string(events.ServiceEventType)),
		filters.Arg("type", string(events.NodeEventType)),
		filters.Arg("type", string(events.ContainerEventType)),
	)
	for ctx.Err() == nil {
		msgs, errs := w.src.Events(ctx, events.ListOptions{Filters: f})
	stream:
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-msgs:
				w.wake(m)
			case <-errs:
				break stream
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// wake tells the waiters an event may concern: the service's own for a
// service or a container of it, every waiter for a node (it may be down).
func (w *watcher) wake(m events.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var targets []chan struct{}
	switch m.Type {
	case events.NodeEventType:
		for _, ch := range w.subs {
			targets = append(targets, ch)
		}
	case events.ServiceEventType:
		targets = append(targets, w.subs[m.Actor.ID])
	case events.ContainerEventType:
		targets = append(targets, w.subs[m.Actor.Attributes["com.docker.swarm.service.id"]])
	}
	for _, ch := range targets {
		if ch == nil {
			continue
		}
		select {
		case ch <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

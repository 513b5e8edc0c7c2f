package job

import (
	"sync"
	"sync/atomic"
	"time"
)

// tracker is a running job's status, shared by its workers: the phase and
// counts under mu, the frames each task has encoded, and the callback that
// hears of them.
type tracker struct {
	mu         sync.Mutex
	start      time.Time
	status     Status
	framesDone []atomic.Int64
	onProgress func(Status)
	// detail, when set, adds to a status what only one kind of job knows
	// (a ladder's rungs).
	detail func(*Status)
}

// report hands the status, with the frames done and the time since the
// start, to the callback.
func (t *tracker) report() {
	if t.onProgress == nil {
		return
	}
	t.mu.Lock()
	st := t.status
	t.mu.Unlock()
	for i := range t.framesDone {
		st.FramesDone += t.framesDone[i].Load()
	}
	st.Elapsed = time.Since(t.start)
	if t.detail != nil {
		t.detail(&st)
	}
	t.onProgress(st)
}

func (t *tracker) setPhase(p string) {
	t.mu.Lock()
	t.status.Phase = p
	t.mu.Unlock()
	t.report()
}

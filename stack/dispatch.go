package stack

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// race is a segment's first attempt and any backup copies of it: the first
// to finish wins, the others are cancelled (their services removed) and
// their files deleted.
type race struct {
	ctx     context.Context
	task    job.Task
	results chan attemptResult
	cancel  map[int]context.CancelFunc // by attempt ID
	live    int
	won     bool
}

type attemptResult struct {
	a   scheduler.Attempt
	res job.TaskResult
	err error
}

// backupPath is where a backup attempt writes: beside the segment's file,
// with the same extension (ffmpeg picks the muxer by it).
func backupPath(out string, id int) string {
	ext := filepath.Ext(out)
	return strings.TrimSuffix(out, ext) + ".backup" + strconv.Itoa(id) + ext
}

// tick asks the dispatcher what to start now; at most every 100 ms unless
// forced (a slot was freed). Tasks waiting outside the dispatcher go first.
// Pause implements job.Pauser: while paused, tick hands out no segment.
func (x *Executor) Pause(paused bool) {
	x.mu.Lock()
	x.paused = paused
	x.mu.Unlock()
	if !paused {
		x.tick(true)
	}
}

func (x *Executor) tick(force bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.d == nil || x.external > 0 || x.paused || (!force && time.Since(x.lastTick) < 100*time.Millisecond) {
		return
	}
	x.lastTick = time.Now()
	// scheduler.Grant decides; this only starts what it returns.
	for _, a := range x.Pool.Grant(x.d, x.jobID, x.nodeIDs(), x.now(), x.lastTick, x.racing) {
		if !a.Backup {
			x.grants[a.First] <- a // buffered: each segment is handed out once
			continue
		}
		r := x.races[a.First]
		r.live++
		x.launch(r, a)
	}
}

// racing reports whether backup a's race still runs: its segment has not
// been won and its first attempt has not ended; x.mu is held.
func (x *Executor) racing(a scheduler.Attempt) bool {
	r := x.races[a.First]
	return r != nil && !r.won && r.live > 0
}

// nodeIDs are the IDs of x.Nodes, by the dispatcher's node index.
func (x *Executor) nodeIDs() []string {
	ids := make([]string, len(x.Nodes))
	for i, n := range x.Nodes {
		ids[i] = n.ID
	}
	return ids
}

func (x *Executor) now() float64 { return time.Since(x.t0).Seconds() }

// runDispatched runs a segment's first attempt where and when the
// dispatcher says, with any backups it adds, and returns the winner.
func (x *Executor) runDispatched(ctx context.Context, t job.Task) (job.TaskResult, error) {
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	var a scheduler.Attempt
	for granted := false; !granted; {
		x.tick(false)
		select {
		case a = <-x.grants[t.Segment]:
			granted = true
		case <-ticker.C:
		case <-ctx.Done():
			x.mu.Lock()
			select {
			case a := <-x.grants[t.Segment]: // handed out as the job ended
				x.d.Abandon(a)
				x.Pool.Release(x.jobID, x.Nodes[a.Node].ID)
			default:
			}
			x.mu.Unlock()
			return job.TaskResult{}, ctx.Err()
		}
	}
	r := &race{ctx: ctx, task: t, results: make(chan attemptResult, 4), cancel: map[int]context.CancelFunc{}, live: 1}
	x.mu.Lock()
	x.races[t.Segment] = r
	x.launch(r, a)
	x.mu.Unlock()

	var winner *attemptResult
	var primaryErr attemptResult
	for {
		var got attemptResult
		select {
		case got = <-r.results:
		case <-ticker.C:
			x.tick(false)
			continue
		}
		x.Pool.Release(x.jobID, x.Nodes[got.a.Node].ID)
		x.mu.Lock()
		r.live--
		switch {
		case got.err == nil && !r.won:
			r.won = true
			winner = &got
			for _, c := range x.d.Finished(got.a, x.now()) {
				if cancel := r.cancel[c.ID]; cancel != nil {
					cancel() // the twin's service is removed as its run returns
				}
			}
		case got.err != nil && !r.won:
			x.d.Abandon(got.a)
			if !got.a.Backup || primaryErr.err == nil {
				primaryErr = got
			}
		}
		if got.a.Backup && (winner == nil || winner.a.ID != got.a.ID) {
			os.Remove(backupPath(t.Output, got.a.ID))
		}
		live := r.live
		if live == 0 {
			delete(x.races, t.Segment)
		}
		x.mu.Unlock()
		x.tick(true) // a slot is free
		if live > 0 {
			continue
		}
		if winner == nil {
			return primaryErr.res, primaryErr.err
		}
		if winner.a.Backup {
			if err := os.Rename(backupPath(t.Output, winner.a.ID), t.Output); err != nil {
				return winner.res, err
			}
		}
		return winner.res, nil
	}
}

// launch starts attempt a of race r in the background; x.mu is held.
func (x *Executor) launch(r *race, a scheduler.Attempt) {
	ctx, cancel := context.WithCancel(r.ctx)
	r.cancel[a.ID] = cancel
	t, args := r.task, r.task.Args
	if a.Backup {
		out := backupPath(t.Output, a.ID)
		args = make([]string, len(t.Args))
		for i, arg := range t.Args {
			if arg == t.Output {
				arg = out
			}
			args[i] = arg
		}
		t.Name += "-backup"
		t.OnStart = nil
	}
	frames := max(x.frames[a.First], 1)
	began := -1.0 // when ffmpeg's clock read 0, on x.now's
	onProgress := func(p media.Progress) {
		x.mu.Lock()
		if p.Done {
			x.d.Measured(a, p.Rate()*a.Cost/float64(frames))
		} else {
			// The dispatcher learns only from ffmpeg's own clock: a report
			// is read up to a poll after ffmpeg wrote it, and timing it by
			// the read would count ffmpeg's start and the log's delay as
			// encoding. A report without a clock (-copyts before ffmpeg's
			// second one) moves nothing; the task's start (frame 0, from
			// wait) is the mark the dispatcher's estimate runs from.
			done := a.Cost * min(float64(p.Frame)/float64(frames), 1)
			switch {
			case p.Elapsed > 0:
				if began < 0 {
					began = x.now() - p.Elapsed
					x.d.Progress(a, 0, began) // ffmpeg's start: a mark, nothing learnt
				}
				x.d.Progress(a, done, began+p.Elapsed)
			case p.Frame == 0:
				x.d.Progress(a, 0, x.now())
			}
		}
		x.mu.Unlock()
		fps := p.Rate()
		if el := x.now() - a.Start; fps <= 0 && el > 0 {
			fps = float64(p.Frame) / el
		}
		if !p.Done && !a.Backup && fps > 0 {
			// Time for the slot's next service to start (standby.go).
			x.nearEnd(a.Node, time.Duration(float64(max(int64(frames)-p.Frame, 0))/fps*float64(time.Second)))
		}
		if !a.Backup && r.task.OnProgress != nil {
			r.task.OnProgress(p)
		}
	}
	go func() {
		defer cancel()
		res, err := x.runOn(ctx, t, a.Node, args, onProgress)
		r.results <- attemptResult{a: a, res: res, err: err}
	}()
}

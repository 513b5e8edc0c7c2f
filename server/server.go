// Package server is the scheduler sidecar (`dswarm serve`): it owns the
// jobs, runs a configurable number at once on the swarm, keeps their state
// on the shared storage so a restarted scheduler finishes them, and serves
// an HTTP API, an event stream, Prometheus metrics and a web page.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
)

// RunFunc runs one job to the end. resume is true when an earlier scheduler
// started it: the services it left are to be adopted, not started again.
type RunFunc func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error)

// LadderFunc runs one ladder job to the end. A resumed ladder starts again:
// resume is true when an earlier scheduler started it, and its services are
// to be removed first.
type LadderFunc func(ctx context.Context, cfg job.LadderConfig, resume bool) (*job.LadderSummary, error)

// Node is a node as the web page and GET /api/v1/nodes show it.
type Node struct {
	Hostname string  `json:"hostname"`
	Arch     string  `json:"arch"`
	State    string  `json:"state"`
	Weight   float64 `json:"weight"`
	Slots    int     `json:"slots"`
	Busy     int     `json:"busy"`
	Eligible bool    `json:"eligible"`
	Reason   string  `json:"reason,omitempty"`
}

// Options configure a Server.
type Options struct {
	// Root is the shared storage as the scheduler sees it.
	Root string
	// Token is the API token; every endpoint but /healthz requires it.
	Token string
	// MaxUpload is the largest upload accepted, in bytes.
	MaxUpload int64
	// MaxJobs is how many jobs run at once; the others wait in the queue.
	MaxJobs int
	Run     RunFunc
	// RunLadder runs ladder jobs; without it, they are refused.
	RunLadder LadderFunc
	// Nodes lists the swarm's nodes (busy slots are filled in here).
	Nodes func(ctx context.Context) ([]Node, error)
	Log   io.Writer
	// Secrets are hidden from every error a job record keeps (the CIFS
	// password of the storage's volume), besides what nfs.Scrub finds.
	Secrets []string

	// ReadHeaderTimeout bounds the wait for a request's headers (10s).
	ReadHeaderTimeout time.Duration
	// BodyIdle ends a request whose body stops arriving for this long
	// (1m); it is also the grace before MinBodyRate applies.
	BodyIdle time.Duration
	// MinBodyRate is the slowest a request body may arrive on average,
	// in bytes per second, counted after BodyIdle (8 KiB/s).
	MinBodyRate int64
	// IdleTimeout closes a kept-alive connection with no request (2m).
	IdleTimeout time.Duration
	// WriteIdle ends a response the client stops reading for this long
	// (1m): a download, an event stream.
	WriteIdle time.Duration
}

// Server is the scheduler.
type Server struct {
	opt     Options
	layout  nfs.Layout
	store   Store
	metrics *metrics
	events  *broker

	mu      sync.Mutex
	jobs    map[string]*Record
	queue   []string
	cancels map[string]context.CancelFunc
	stopped map[string]bool // running jobs a user cancelled
	wake    chan struct{}
}

// JobsDir is the folder of job records under the storage root.
const JobsDir = "jobs"

// New opens the storage and the job records in it.
func New(opt Options) (*Server, error) {
	if opt.Token == "" {
		return nil, errors.New("no API token: give --token-file (a Docker secret) or $DSWARM_TOKEN")
	}
	if opt.MaxJobs <= 0 {
		opt.MaxJobs = 1
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = 20 << 30
	}
	if opt.Log == nil {
		opt.Log = io.Discard
	}
	opt.ReadHeaderTimeout = cmp.Or(opt.ReadHeaderTimeout, defaultReadHeaderTimeout)
	opt.BodyIdle = cmp.Or(opt.BodyIdle, defaultBodyIdle)
	opt.MinBodyRate = cmp.Or(opt.MinBodyRate, defaultMinBodyRate)
	opt.IdleTimeout = cmp.Or(opt.IdleTimeout, defaultIdleTimeout)
	opt.WriteIdle = cmp.Or(opt.WriteIdle, defaultWriteIdle)
	s := &Server{
		opt:     opt,
		layout:  nfs.Layout{Root: opt.Root},
		store:   Store{Dir: filepath.Join(opt.Root, JobsDir)},
		events:  newBroker(),
		jobs:    map[string]*Record{},
		cancels: map[string]context.CancelFunc{},
		stopped: map[string]bool{},
		wake:    make(chan struct{}, 1),
	}
	s.metrics = newMetrics(s.busy)
	if err := s.layout.Check(context.Background()); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(s.store.Dir, 0o775); err != nil {
		return nil, fmt.Errorf("job records: %w", err)
	}
	recs, err := s.store.Load()
	if err != nil {
		fmt.Fprintf(opt.Log, "dswarm serve: warning: %v\n", err)
	}
	for _, r := range recs {
		// Records written before errors were scrubbed may hold a secret:
		// it goes from the file too.
		before := r.Error
		r.Error = s.scrub(r.Error)
		changed := r.Error != before
		for i := range r.Segments {
			before := r.Segments[i].Error
			r.Segments[i].Error = s.scrub(before)
			changed = changed || r.Segments[i].Error != before
		}
		if changed {
			if err := s.store.Save(r); err != nil {
				fmt.Fprintf(opt.Log, "dswarm serve: warning: %v\n", err)
			}
		}
		s.jobs[r.ID] = r
		switch r.State {
		case StateRunning:
			// The scheduler stopped while it ran: resume it first.
			r.Resumed++
			s.queue = append([]string{r.ID}, s.queue...)
		case StateQueued:
			s.queue = append(s.queue, r.ID)
		}
	}
	s.metrics.setJobs(s.jobs, len(s.queue))
	return s, nil
}

// Start runs the queue until ctx ends: MaxJobs jobs at once.
func (s *Server) Start(ctx context.Context) {
	for i := 0; i < s.opt.MaxJobs; i++ {
		go s.worker(ctx)
	}
	s.kick()
}

func (s *Server) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Server) worker(ctx context.Context) {
	for {
		id, ok := s.next()
		if !ok {
			select {
			case <-s.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		s.kick() // another worker may take the next one
		s.execute(ctx, id)
	}
}

// next takes the first job of the queue.
func (s *Server) next() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return "", false
	}
	id := s.queue[0]
	s.queue = s.queue[1:]
	s.metrics.setJobs(s.jobs, len(s.queue))
	return id, true
}

// execute runs job id and records how it ended.
func (s *Server) execute(ctx context.Context, id string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	r := s.jobs[id]
	if r == nil || r.Final() {
		s.mu.Unlock()
		return
	}
	resume := r.State == StateRunning
	now := time.Now()
	if r.Started == nil {
		r.Started = &now
	}
	r.State = StateRunning
	s.cancels[id] = cancel
	cfg := job.Config{
		JobID:      r.ID,
		Input:      filepath.Join(s.opt.Root, r.Input),
		Output:     filepath.Join(s.layout.Download(), r.Output),
		TempDir:    s.layout.Tmp(),
		PartialDir: s.layout.Download(),
		FFmpegArgs: append([]string(nil), r.Options...),
		OnePass:    r.OnePass,
		Log:        s.opt.Log,
		OnSegment:  func(e job.SegmentEvent) { s.onSegment(id, e) },
		Progress:   func(st job.Status) { s.onProgress(id, st) },
	}
	if resume {
		if _, err := os.Stat(cfg.Output); err == nil {
			// The earlier scheduler died after the output was verified and
			// moved into place (job.Run moves only a verified output), before
			// it could record it.
			os.RemoveAll(filepath.Join(cfg.TempDir, ".dswarm-"+id))
			end := time.Now()
			r.State, r.Phase, r.Finished, r.FramesDone = StateDone, "done", &end, r.Frames
			r.Error = ""
			delete(s.cancels, id)
			s.saveLocked(r)
			s.mu.Unlock()
			return
		}
		if r.Ladder != "" {
			// A ladder starts again: its tasks' states are the new run's.
			r.Segments, r.Rungs = []SegmentState{}, nil
			fmt.Fprintf(s.opt.Log, "dswarm serve: starting ladder job %s again\n", id)
		} else {
			cfg.Done = r.done()
			fmt.Fprintf(s.opt.Log, "dswarm serve: resuming job %s (%d segments done)\n", id, len(cfg.Done))
		}
	}
	s.saveLocked(r)
	s.mu.Unlock()

	var sum *job.Summary
	var ladder *job.LadderSummary
	var err error
	if r.Ladder != "" {
		ladder, err = s.opt.RunLadder(ctx, job.LadderConfig{
			JobID:     cfg.JobID,
			Input:     cfg.Input,
			OutputDir: cfg.Output,
			Spec:      r.Ladder,
			Codec:     r.LadderCodec,
			// 0 is the ladder's default.
			SegmentDuration: time.Duration(r.SegmentSeconds * float64(time.Second)),
			FFmpegArgs:      cfg.FFmpegArgs,
			TempDir:         cfg.TempDir,
			OnePass:         cfg.OnePass,
			ThumbEvery:      2 * time.Second,
			Log:             cfg.Log,
			OnSegment:       cfg.OnSegment,
			Progress:        cfg.Progress,
		}, resume)
	} else {
		sum, err = s.opt.Run(ctx, cfg, resume)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cancels, id)
	end := time.Now()
	r.Finished = &end
	switch {
	case err == nil:
		r.State, r.Summary, r.LadderSummary, r.Phase = StateDone, sum, ladder, "done"
		r.FramesDone = r.Frames
		for i := range r.Rungs {
			r.Rungs[i].Encoded, r.Rungs[i].Checked = r.Rungs[i].Frames, r.Rungs[i].Frames
		}
	case s.stopped[id]:
		// Cancelled: job.Run has removed its files by now.
		delete(s.stopped, id)
		r.State, r.Error = StateCancelled, "cancelled"
	case ctx.Err() != nil:
		// The scheduler is stopping: the job stays running, to be resumed.
		r.Finished = nil
		return
	default:
		r.State, r.Error = StateFailed, s.scrub(err.Error())
	}
	// Tasks the job left running (it failed or was cancelled) are gone.
	release := func(seg *SegmentState) {
		if seg.State == "running" {
			seg.State = "failed"
		}
	}
	for i := range r.Segments {
		release(&r.Segments[i])
	}
	if r.Audio != nil {
		release(r.Audio)
	}
	s.saveLocked(r)
}

// saveLocked writes r and tells the event stream; s.mu is held.
func (s *Server) saveLocked(r *Record) {
	if err := s.store.Save(r); err != nil {
		fmt.Fprintf(s.opt.Log, "dswarm serve: %v\n", err)
	}
	s.metrics.setJobs(s.jobs, len(s.queue))
	s.events.publish(r.clone())
}

func (s *Server) onSegment(id string, e job.SegmentEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.jobs[id]
	e.Error = s.scrub(e.Error)
	r.apply(e)
	s.metrics.segment(e)
	s.saveLocked(r)
}

// scrub hides secrets in an error before a job record, the API, the event
// stream or the log gets it. The executor scrubs task errors already; this
// is the second line, for errors from anywhere else.
func (s *Server) scrub(msg string) string {
	return nfs.Scrub(msg, s.opt.Secrets...)
}

// busy counts, per node named in any job, the tasks running there now
// (segments and audio of the jobs that have not ended).
func (s *Server) busy() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	count := func(seg SegmentState, running bool) {
		if seg.Node == "" {
			return
		}
		if _, seen := out[seg.Node]; !seen {
			out[seg.Node] = 0
		}
		if running && seg.State == "running" {
			out[seg.Node]++
		}
	}
	for _, r := range s.jobs {
		for _, seg := range r.Segments {
			count(seg, !r.Final())
		}
		if r.Audio != nil {
			count(*r.Audio, !r.Final())
		}
	}
	return out
}

func (s *Server) onProgress(id string, st job.Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.jobs[id]
	phaseChanged := r.Phase != st.Phase
	r.Phase, r.FramesDone, r.Frames = st.Phase, st.FramesDone, st.Frames
	if st.Rungs != nil {
		r.Rungs = st.Rungs
	}
	for len(r.Segments) < st.Segments {
		r.Segments = append(r.Segments, SegmentState{Index: len(r.Segments), State: "pending"})
	}
	if phaseChanged {
		s.saveLocked(r)
		return
	}
	s.events.publish(r.clone())
}

// Cancel stops a job: a queued one never runs, a running one's services
// are removed and its files deleted.
func (s *Server) Cancel(id string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.jobs[id]
	if r == nil {
		return nil, errNotFound(id)
	}
	if r.Final() {
		return nil, &apiError{409, fmt.Sprintf("job %s is %s already", id, r.State)}
	}
	if cancel := s.cancels[id]; cancel != nil {
		// The job ends as cancelled once its services and files are gone.
		s.stopped[id] = true
		r.Error = "cancelling"
		cancel()
	} else {
		r.State, r.Error = StateCancelled, "cancelled"
		for i, q := range s.queue {
			if q == id {
				s.queue = append(s.queue[:i], s.queue[i+1:]...)
				break
			}
		}
		now := time.Now()
		r.Finished = &now
	}
	s.saveLocked(r)
	return r.clone(), nil
}

// Get returns a copy of job id.
func (s *Server) Get(id string) (*Record, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.jobs[id]
	if !ok {
		return nil, false
	}
	return r.clone(), true
}

// List returns copies of every job, oldest first.
func (s *Server) List() []*Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Record, 0, len(s.jobs))
	for _, r := range s.jobs {
		out = append(out, r.clone())
	}
	sortRecords(out)
	return out
}

// submit queues a new job and returns a copy of it, taken before a worker
// can change it.
func (s *Server) submit(r *Record) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.jobs {
		if !o.Final() && o.Output == r.Output {
			return nil, &apiError{409, fmt.Sprintf("output %s: job %s is already writing it", r.Output, o.ID)}
		}
	}
	s.jobs[r.ID] = r
	s.queue = append(s.queue, r.ID)
	s.saveLocked(r)
	s.kick()
	return r.clone(), nil
}

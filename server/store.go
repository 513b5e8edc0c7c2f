package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dswarm/dswarm/job"
)

// Job states.
const (
	StateQueued    = "queued"
	StateRunning   = "running"
	StateDone      = "done"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Record is a job as the scheduler keeps it: what was asked, where it is,
// and every segment's state. It is written to the shared storage after
// every change, so that a restarted scheduler picks the job up where it was.
type Record struct {
	ID       string     `json:"id"`
	State    string     `json:"state"`
	Input    string     `json:"input"`  // relative to the storage root
	Output   string     `json:"output"` // a name in download/
	Options  []string   `json:"options"`
	OnePass  bool       `json:"one_pass,omitempty"`
	Created  time.Time  `json:"created"`
	Started  *time.Time `json:"started,omitempty"`
	Finished *time.Time `json:"finished,omitempty"`
	Phase    string     `json:"phase,omitempty"`
	Error    string     `json:"error,omitempty"`
	// Segments are known once the job is planned.
	Segments   []SegmentState `json:"segments"`
	Audio      *SegmentState  `json:"audio,omitempty"`
	FramesDone int64          `json:"frames_done"`
	Frames     int64          `json:"frames"`
	// Resumed counts the times a restarted scheduler took the job up again.
	Resumed int          `json:"resumed,omitempty"`
	Summary *job.Summary `json:"summary,omitempty"`

	// Ladder, when set, makes the job an ABR ladder (job.RunLadder): its
	// spec ("default" or rungs such as 720p:3M,360p:600k), its video
	// encoder, each rung as far as it has come, and what was verified.
	// Output is then a folder in download/.
	Ladder      string `json:"ladder,omitempty"`
	LadderCodec string `json:"ladder_codec,omitempty"`
	// SegmentSeconds is the ladder's packaged segment length (0: 4 s).
	SegmentSeconds float64            `json:"segment_seconds,omitempty"`
	Rungs          []job.RungStatus   `json:"rungs,omitempty"`
	LadderSummary  *job.LadderSummary `json:"ladder_summary,omitempty"`
}

// SegmentState is one segment of a job (or its audio track).
type SegmentState struct {
	Index    int     `json:"index"`
	State    string  `json:"state"` // pending, running, done, failed
	Node     string  `json:"node,omitempty"`
	Attempts int     `json:"attempts"`
	Frames   int     `json:"frames"`
	FPS      float64 `json:"fps,omitempty"`
	Seconds  float64 `json:"seconds,omitempty"`
	Reused   bool    `json:"reused,omitempty"`
	Error    string  `json:"error,omitempty"`
}

// Final reports whether the job has ended.
func (r *Record) Final() bool {
	return r.State == StateDone || r.State == StateFailed || r.State == StateCancelled
}

// Count is how many segments are in state ("pending", "running", "done",
// "failed").
func (r *Record) Count(state string) int {
	n := 0
	for _, s := range r.Segments {
		if s.State == state {
			n++
		}
	}
	return n
}

// apply records a segment event.
func (r *Record) apply(e job.SegmentEvent) {
	var s *SegmentState
	if e.Index < 0 {
		if r.Audio == nil {
			r.Audio = &SegmentState{Index: -1}
		}
		s = r.Audio
	} else {
		for len(r.Segments) <= e.Index {
			r.Segments = append(r.Segments, SegmentState{Index: len(r.Segments), State: "pending"})
		}
		s = &r.Segments[e.Index]
	}
	s.State, s.Reused = e.State, e.Reused
	if e.Node != "" {
		s.Node = e.Node
	}
	if e.Attempt > s.Attempts {
		s.Attempts = e.Attempt
	}
	if e.Frames > 0 {
		s.Frames = e.Frames
	}
	if e.State == "done" {
		s.FPS, s.Seconds, s.Error = e.FPS, e.Seconds, ""
	}
	if e.Error != "" {
		s.Error = e.Error
	}
}

// done lists the segments (and -1 for audio) that finished.
func (r *Record) done() map[int]bool {
	out := map[int]bool{}
	for _, s := range r.Segments {
		if s.State == "done" {
			out[s.Index] = true
		}
	}
	if r.Audio != nil && r.Audio.State == "done" {
		out[-1] = true
	}
	return out
}

// clone is a deep copy, for readers outside the scheduler's lock.
func (r *Record) clone() *Record {
	c := *r
	c.Options = append([]string(nil), r.Options...)
	c.Segments = append([]SegmentState(nil), r.Segments...)
	c.Rungs = append([]job.RungStatus(nil), r.Rungs...)
	if r.Audio != nil {
		a := *r.Audio
		c.Audio = &a
	}
	return &c
}

// Store keeps job records as JSON files in a folder of the shared storage,
// each written to a temporary file and renamed, so a reader (or a scheduler
// killed mid-write) never sees half a record. No database: an embedded one
// on network storage locks up (see LESSONS.md).
type Store struct {
	Dir string
}

func (s Store) path(id string) string { return filepath.Join(s.Dir, id+".json") }

// Save writes r atomically.
func (s Store) Save(r *Record) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.Dir, "."+r.ID+"-*.tmp")
	if err != nil {
		return fmt.Errorf("save job %s: %w", r.ID, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path(r.ID))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save job %s: %w", r.ID, err)
	}
	return nil
}

// Load reads every record, oldest first.
func (s Store) Load() ([]*Record, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("job records in %s: %w", s.Dir, err)
	}
	var out []*Record
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			if strings.HasSuffix(name, ".tmp") {
				os.Remove(filepath.Join(s.Dir, name)) // a write cut short
			}
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			errs = append(errs, fmt.Errorf("job record %s: %w", name, err))
			continue
		}
		out = append(out, &r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, errors.Join(errs...)
}

package job

import (
	"context"
	"time"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// Role says what a task does.
type Role string

// Task roles.
const (
	RoleSegment Role = "segment"
	// RoleAnalysis measures a segment for a bitrate target (twopass.go).
	RoleAnalysis Role = "analysis"
	RoleAudio    Role = "audio"
	RoleMerge    Role = "merge"
)

// Task is one ffmpeg run of a job.
type Task struct {
	JobID   string
	Name    string // e.g. "seg-007"
	Role    Role
	Segment int // segment index, -1 for other roles
	Attempt int // 1-based
	// Program is the tool to run: "" for ffmpeg, or "dswarm" for the
	// checks that run dswarm itself on a node.
	Program string
	Args    []string
	// Output is the file the task writes (one of Args), so that an executor
	// can run a backup copy into a file of its own.
	Output string
	// Avoid lists nodes the task should not run on (earlier failed attempts).
	Avoid []string
	// CaptureOutput asks for the task's last output lines in TaskResult.
	CaptureOutput bool
	// OnProgress, when set, receives the frames encoded so far.
	OnProgress func(media.Progress)
	// OnStart, when set, hears the node the task starts on.
	OnStart func(node string)
}

// TaskResult is where and when a task ran.
type TaskResult struct {
	Node     string
	Started  time.Time
	Finished time.Time
	// Output is the task's last output lines, for tasks that asked for it
	// (Task.CaptureOutput).
	Output []string
}

// Executor runs ffmpeg tasks: as local processes, or as Swarm services.
type Executor interface {
	// Run runs t to completion. The error names the cause (ffmpeg's last
	// stderr line where there is one).
	Run(ctx context.Context, t Task) (TaskResult, error)
	// Name identifies the executor in summaries ("local", "swarm").
	Name() string
}

// Placer is an Executor that places segments on nodes itself. The runner
// gives it the plan before any segment runs, and lets as many segment tasks
// be in flight as Place returns; the executor throttles per node.
type Placer interface {
	Place(jobID string, segs []scheduler.Segment) (concurrency int, err error)
}

// NodePlacement explains one node's share of a job: what the plan gave it
// and why, or why it got nothing.
type NodePlacement struct {
	Node    string  `json:"node"`
	Arch    string  `json:"arch,omitempty"`
	Weight  float64 `json:"weight"`
	Slots   int     `json:"slots"`
	Planned int     `json:"planned_segments"`
	Ran     int     `json:"ran_segments"`
	// LearntSpeed is the speed measured during the job, in the weight's
	// units (frames per second of cost); Backups counts straggler copies.
	LearntSpeed float64 `json:"learnt_speed,omitempty"`
	Backups     int     `json:"backups,omitempty"`
	Reason      string  `json:"reason"`
}

// Skipper is a Placer that must hear which segments need no task: those
// kept from an earlier run of the job.
type Skipper interface {
	Skip(segment int)
}

// Pauser is an Executor that hands out segment tasks by itself (a
// dispatcher that reserves slots for them): while paused it reserves none,
// so that tasks of another kind (the analysis round of a bitrate target)
// get the slots, and a segment's first attempt waits.
type Pauser interface {
	Pause(paused bool)
}

// Explainer is a Placer that can say why each node got what it got.
type Explainer interface {
	Placement() []NodePlacement
}

// Confiner is an Executor that runs tasks as an unprivileged user, able to
// write only the job's own files. The runner calls Confine once, before any
// task runs, with the input the tasks read, the job's work folder (every
// task writes there) and the partial output when a task writes it (a
// ladder's packaging; "" for a transcode, whose merge is the runner's).
// The runner's own ffmpeg calls with the user's options (the preflight, the
// merge) then run in a media.Sandbox as that user too.
type Confiner interface {
	Confine(input, workDir, partial string) error
	// UserIDs is the numeric uid and gid the tasks run as.
	UserIDs() (uid, gid int, err error)
}

// Warmer is an Executor that can get its nodes ready for a job's first
// tasks (containers started, networks set up) while the job probes and
// plans. The runner calls Warm once, after Confine.
type Warmer interface {
	Warm(jobID string)
}

// Local runs tasks as ffmpeg processes on this machine.
type Local struct {
	Hostname string
}

// Name implements Executor.
func (Local) Name() string { return "local" }

// Run implements Executor.
func (l Local) Run(ctx context.Context, t Task) (TaskResult, error) {
	res := TaskResult{Node: l.Hostname, Started: time.Now()}
	if t.OnStart != nil {
		t.OnStart(l.Hostname)
	}
	// Also a successful run's last lines: a decoder reports damage there.
	var err error
	res.Output, err = media.RunFFmpegLog(ctx, t.Args, t.OnProgress)
	res.Finished = time.Now()
	return res, err
}

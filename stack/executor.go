package stack

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/scheduler"
)

// Executor runs a job's tasks as one-shot Swarm services. It places
// segments itself (job.Placer) with scheduler.Dispatcher: the costliest
// segment left goes to the free slot with the earliest estimated finish,
// node speeds are learnt from the fps each task reports, a straggler near
// the end gets a backup copy on an idle faster node (first to finish wins,
// the twin's service is removed), and a retry goes to another node than the
// one that failed. No node runs more tasks than its slots.
type Executor struct {
	Engine Engine
	Image  string
	Nodes  []scheduler.Node // feasible nodes only
	Mounts []mount.Mount
	// HostRoot is where this machine sees the shared storage, NodeRoot where
	// task containers see it; paths in task arguments are rewritten.
	HostRoot, NodeRoot string
	// User is the numeric uid:gid tasks run as; "" = TaskUser when dswarm
	// runs as root, else dswarm's own ids. Tasks never run as root.
	User string
	// Poll is how often task states are read (default 250ms).
	Poll time.Duration
	// PendingTimeout fails a task that Swarm has not started by then
	// (default 2m): a node that lost the image or its storage.
	PendingTimeout time.Duration
	// ProgressEvery is how often a running task's progress is read from its
	// logs (default 2s): one log request per running task.
	ProgressEvery time.Duration
	// Startup is a task's fixed cost (service creation, container start,
	// ffmpeg's seek), for the dispatcher (default 1.5s).
	Startup time.Duration
	// HoldNetwork makes a holder on each of the job's nodes that has none
	// (see holder.go): the nodes' overlay network stays up between tasks
	// and jobs.
	HoldNetwork bool
	// Pool shares the nodes' slots with other jobs (dswarm serve); nil =
	// this job has the cluster to itself.
	Pool *Pool
	// Rejected are the nodes the placement filters left out, with the
	// reason, for the job's explanation.
	Rejected map[string]string
	// Speeds is what earlier jobs learnt of the nodes' speeds: the job
	// starts from them where they hold, else from the weights. Learn
	// returns it with this job's measurements.
	Speeds scheduler.SpeedBook
	// NoStandby turns off starting a slot's next service while its task
	// finishes (see standby).
	NoStandby bool

	mu       sync.Mutex
	jobID    string
	d        *scheduler.Dispatcher
	t0       time.Time
	lastTick time.Time
	plan     []int // segment -> node by starting speeds: the reference plan
	start    []scheduler.SpeedNode
	frames   []int // segment -> frames, to turn progress into cost
	grants   []chan scheduler.Attempt
	races    map[int]*race
	external int                  // tasks waiting for a slot outside the dispatcher
	paused   bool                 // no segment handed out (job.Pauser)
	adopt    map[string]adoptable // taskKey (from labels) -> service left by an earlier run
	lost     map[string]bool      // node IDs whose tasks vanished with them
	workDir  string               // writable for every task, relative to HostRoot (Confine)
	partial  string               // writable for the merge, relative to HostRoot (Confine)
	netReady bool                 // IsolatedNetwork exists
	held     bool                 // holdNetwork has run

	events     watcher       // wakes waiters on the engine's events
	standbys   []*standby    // services started ahead of their slot's next task
	standbyOff bool          // a standby failed before a task took it over
	gates      int           // standbys made, for their names
	runTag     string        // this run's mark in standby names (see nearEnd)
	startupEst time.Duration // measured: service created to task running
}

// ensureNetwork makes sure the tasks' isolated network exists, once.
func (x *Executor) ensureNetwork(ctx context.Context) error {
	x.mu.Lock()
	ready := x.netReady
	x.mu.Unlock()
	if ready {
		return nil
	}
	if err := EnsureIsolatedNetwork(ctx, x.Engine); err != nil {
		return err
	}
	x.mu.Lock()
	x.netReady = true
	x.mu.Unlock()
	return nil
}

var _ job.Executor = (*Executor)(nil)
var _ job.Placer = (*Executor)(nil)
var _ job.Explainer = (*Executor)(nil)

// Name implements job.Executor.
func (x *Executor) Name() string { return "swarm" }

// Place implements job.Placer: it sets up the dispatcher for the segments.
func (x *Executor) Place(jobID string, segs []scheduler.Segment) (int, error) {
	x.holdNetwork()
	costs := scheduler.SegmentCosts(segs)
	speeds := x.Speeds.StartSpeeds(x.Nodes)
	believed := make([]scheduler.Node, len(x.Nodes))
	for i, n := range x.Nodes {
		believed[i] = n
		believed[i].Weight = speeds[i].Speed
	}
	plan, err := scheduler.Assign(costs, believed)
	if err != nil {
		return 0, err
	}
	startup := x.Startup
	if startup <= 0 {
		startup = 1500 * time.Millisecond
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.Pool == nil {
		x.Pool = NewPool()
	}
	slots := map[string]int{}
	for _, n := range x.Nodes {
		slots[n.ID] = max(n.Slots, 1)
	}
	x.Pool.Join(jobID, slots)
	x.jobID = jobID
	x.plan = plan
	x.start = speeds
	x.d = scheduler.NewDispatcher(costs, speeds, scheduler.DispatchOptions{Startup: startup.Seconds(), OneSegment: true})
	x.t0 = time.Now()
	x.frames = make([]int, len(segs))
	x.grants = make([]chan scheduler.Attempt, len(segs))
	for i, s := range segs {
		x.frames[i] = s.Count
		x.grants[i] = make(chan scheduler.Attempt, 1)
	}
	x.races = map[int]*race{}
	x.lost = map[string]bool{}
	// Every segment may wait at once: the dispatcher decides what starts.
	return len(segs), nil
}

// Placement implements job.Explainer.
func (x *Executor) Placement() []job.NodePlacement {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []job.NodePlacement
	start := x.start
	if start == nil {
		start = x.Speeds.StartSpeeds(x.Nodes)
	}
	total := 0.0
	for _, s := range start {
		total += s.Speed * float64(max(s.Slots, 1))
	}
	var speeds []string
	if x.d != nil {
		speeds = scheduler.SpeedReasons(x.start, x.d.Learnt(), x.d.Why)
	}
	for i, n := range x.Nodes {
		p := job.NodePlacement{Node: n.Hostname, Arch: n.Arch, Weight: n.Weight, Slots: n.Slots}
		for _, a := range x.plan {
			if a == i {
				p.Planned++
			}
		}
		speed := fmt.Sprintf("weight %g", n.Weight)
		if start[i].Measured {
			speed = fmt.Sprintf("speed %.3g learnt in earlier jobs (weight %g)", start[i].Speed, n.Weight)
		}
		p.Reason = fmt.Sprintf("earliest estimated finish: %s x %d slot(s) is %.0f%% of the cluster's speed at the start", speed, max(n.Slots, 1), 100*start[i].Speed*float64(max(n.Slots, 1))/total)
		if x.d != nil {
			w := x.d.Why[i]
			p.LearntSpeed = x.d.Learnt()[i]
			p.Backups = w.Backups
			if speeds[i] != "" {
				p.Reason += "; " + speeds[i]
			}
			if w.Tasks == 0 {
				p.Reason += "; never the earliest finish for the work left"
			}
		}
		if x.lost[n.ID] {
			p.Reason += "; lost during the job, its work went elsewhere"
		}
		out = append(out, p)
	}
	for h, why := range x.Rejected {
		out = append(out, job.NodePlacement{Node: h, Reason: "not eligible: " + why})
	}
	return out
}

// Learn returns book with the node speeds this job measured (see
// scheduler.SpeedBook.Learn); before Place, book as it is.
func (x *Executor) Learn(book scheduler.SpeedBook, now time.Time) scheduler.SpeedBook {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.d == nil {
		return book
	}
	return book.Learn(x.Nodes, x.start, x.d.Learnt(), now)
}

// Run implements job.Executor: a segment's first attempt is placed by the
// dispatcher (and may race a backup); other tasks take the fastest free
// node. Each runs as a service: create it, wait for its task to end, read
// its exit code and last log lines, remove it.
func (x *Executor) Run(ctx context.Context, t job.Task) (job.TaskResult, error) {
	x.mu.Lock()
	placed := x.d != nil
	x.mu.Unlock()
	if !placed {
		if _, err := x.Place(t.JobID, nil); err != nil {
			return job.TaskResult{}, err
		}
	}
	if a, ok := x.adopted(t); ok {
		return x.runAdopted(ctx, t, a)
	}
	if t.Role == job.RoleSegment && t.Attempt == 1 && t.Segment >= 0 && t.Segment < len(x.grants) {
		return x.runDispatched(ctx, t)
	}
	if t.Role == job.RoleAudio {
		return x.runAlong(ctx, t)
	}
	ni, err := x.acquire(ctx, t)
	if err != nil {
		return job.TaskResult{}, err
	}
	defer func() {
		x.mu.Lock()
		x.d.Hold(ni, -1)
		x.mu.Unlock()
		x.Pool.Release(x.jobID, x.Nodes[ni].ID)
		x.tick(true)
	}()
	return x.runOn(ctx, t, ni, t.Args, t.OnProgress)
}

// runAlong runs the audio task beside the segments without taking a slot:
// it is a small share of the work (an audio encode runs many times faster
// than the video's), and holding a slot for it would keep a segment waiting
// for its whole run, start-up included, where single-pass ffmpeg encodes
// the audio alongside. It reserves no CPU, so Swarm places it beside a
// segment and its standby. It starts once every segment has been handed
// out, on the node whose slot frees first (scheduler.SoonestFree): started
// with the first segments, it slowed one node's share, and that node
// finished last while the others waited.
func (x *Executor) runAlong(ctx context.Context, t job.Task) (job.TaskResult, error) {
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		x.mu.Lock()
		ni, err := x.d.SoonestFree(x.Nodes, x.now(), x.lost, t.Avoid)
		x.mu.Unlock()
		if err != nil {
			return job.TaskResult{}, fmt.Errorf("task %s: %w", t.Name, err)
		}
		if ni >= 0 {
			return x.runOn(ctx, t, ni, t.Args, t.OnProgress)
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return job.TaskResult{}, ctx.Err()
		}
	}
}

// acquire waits for a free slot for a task outside the dispatcher; such
// tasks go before the dispatcher hands out more segments.
func (x *Executor) acquire(ctx context.Context, t job.Task) (int, error) {
	x.mu.Lock()
	x.external++
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		x.external--
		x.mu.Unlock()
	}()
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		x.mu.Lock()
		ni, err := x.Pool.GrantFree(x.d, x.jobID, x.Nodes, x.lost, t.Avoid, time.Now())
		x.mu.Unlock()
		if err != nil || ni >= 0 {
			return ni, err
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// runOn runs task t as a service on node ni.
func (x *Executor) runOn(ctx context.Context, t job.Task, ni int, args []string, onProgress func(media.Progress)) (job.TaskResult, error) {
	node := x.Nodes[ni]
	res := job.TaskResult{Node: node.Hostname}
	mounts, err := x.taskMounts(t)
	if err != nil {
		return res, err
	}
	ts := TaskSpec{
		JobID:    t.JobID,
		Name:     t.Name,
		Role:     string(t.Role),
		Segment:  t.Segment,
		Attempt:  t.Attempt,
		Image:    x.Image,
		Command:  command(t.Program, x.rewrite(args), onProgress != nil),
		NodeID:   node.ID,
		NodeArch: node.Arch,
		Mounts:   mounts,
		User:     x.taskUser(),
	}.reserve(t.Program, node)
	if t.Role == job.RoleAudio {
		ts.NanoCPUs = 0 // see runAlong
	}
	ts.Platforms = ImagePlatforms(node.Image)
	spec := ServiceSpec(ts)
	res.Started = time.Now()
	if t.OnStart != nil {
		t.OnStart(node.Hostname)
	}
	if sb := x.awaitStandby(ctx, ni, t); sb != nil {
		defer x.forgetStandby(sb)
		if err := WriteGate(sb.gate, spec.TaskTemplate.ContainerSpec.Command); err == nil {
			return res, x.await(ctx, t, sb.serviceID, spec.Name, sb.gate, node, onProgress, &res, false)
		}
		// The gate could not be written: the standby goes, the task
		// starts as usual.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_ = x.Engine.ServiceRemove(rctx, sb.serviceID)
		cancel()
	}
	if err := x.ensureNetwork(ctx); err != nil {
		return res, err
	}
	// An ffmpeg task runs behind a gate of its own, as in a standby, so
	// that its end is read from its exit file (see exitFile).
	gate := x.taskGate(t, spec.Name)
	if gate != "" {
		if err := WriteGate(gate, spec.TaskTemplate.ContainerSpec.Command); err != nil {
			return res, err
		}
		defer removeGate(gate)
		spec.TaskTemplate.ContainerSpec.Command = StandbyCommand(x.rewrite([]string{gate})[0])
	}
	created, err := x.Engine.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		return res, fmt.Errorf("create service %s: %w", spec.Name, err)
	}
	err = x.await(ctx, t, created.ID, spec.Name, gate, node, onProgress, &res, true)
	return res, err
}

// taskGate is the gate file a new service for task t runs behind, or ""
// where it runs its command itself: a task of dswarm's own, a job without
// a work folder for the gates (no Confine), or one that does without
// `dswarm standby` (NoStandby).
func (x *Executor) taskGate(t job.Task, service string) string {
	if t.Program != "" && t.Program != "ffmpeg" {
		return ""
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.workDir == "" || x.NoStandby {
		return ""
	}
	gate := serviceGate(x.HostRoot, x.workDir, service)
	removeGate(gate) // an attempt's name comes again when a resumed run starts it anew
	return gate
}

// serviceGate is the gate of the task service named service. Unlike a
// standby's, it is not removed when a resumed run confines the work folder
// (removeGates): a task that run adopts may not have read it yet.
func serviceGate(hostRoot, workDir, service string) string {
	return filepath.Join(hostRoot, workDir, ".task-"+service+".gate")
}

// await waits for a task's service to end, reads its last output once (the
// final -progress report, with ffmpeg's own fps over the whole task, and
// the lines the task asked for), and removes the service. fresh says the
// service was just created (its start-up is measured).
func (x *Executor) await(ctx context.Context, t job.Task, serviceID, name, gate string, node scheduler.Node, onProgress func(media.Progress), res *job.TaskResult, fresh bool) error {
	defer func() {
		// The job's context may be cancelled already: removal must still happen.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		// A service this fails to remove is still found by the job's
		// label: RemoveJob runs at the end of every job.
		_ = x.Engine.ServiceRemove(rctx, serviceID)
	}()
	err := x.wait(ctx, serviceID, name, gate, node, onProgress, fresh)
	res.Finished = time.Now()
	if err != nil || (onProgress == nil && !t.CaptureOutput) {
		return err
	}
	taskID, out := x.serviceOutput(ctx, serviceID)
	if gate != "" && onProgress != nil {
		// Ended by its exit file: the log driver may not have stored the
		// last lines yet. ffmpeg's last report (progress=end) closes them.
		for try := 0; try < 20 && !endReported(out); try++ {
			time.Sleep(50 * time.Millisecond)
			taskID, out = x.serviceOutput(ctx, serviceID)
		}
	}
	if p, ok := progressOf(out); ok && onProgress != nil {
		if p.Rate() == 0 {
			x.clockFromLogs(ctx, taskID, &p)
		}
		onProgress(p)
	}
	if t.CaptureOutput {
		res.Output = out
	}
	return nil
}

// command is the container command of a task. With progress, ffmpeg
// writes its -progress reports to stdout, which the service logs keep.
func command(program string, args []string, progress bool) []string {
	if program == "" || program == "ffmpeg" {
		cmd := []string{"ffmpeg"}
		if progress {
			cmd = append(cmd, "-progress", "pipe:1")
		}
		return append(cmd, media.FFmpegArgs(args)...)
	}
	return append([]string{program}, args...)
}

// rewrite maps paths on this machine's view of the shared storage to the
// task containers' view: an argument that is such a path, and such a path
// inside an option's value after "=" or ":" (x265's
// -x265-params pass=2:stats=PATH).
func (x *Executor) rewrite(args []string) []string {
	if x.HostRoot == "" || x.HostRoot == x.NodeRoot {
		return args
	}
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = rewritePath(a, x.HostRoot, x.NodeRoot)
	}
	return out
}

// rewritePath replaces from with to in a wherever from starts a path: at
// a's start or after "=" or ":", and followed by "/", ":" or the end.
func rewritePath(a, from, to string) string {
	var b strings.Builder
	for {
		k := strings.Index(a, from)
		if k < 0 {
			b.WriteString(a)
			return b.String()
		}
		end := k + len(from)
		starts := k == 0 || a[k-1] == '=' || a[k-1] == ':'
		ends := end == len(a) || a[end] == '/' || a[end] == ':'
		b.WriteString(a[:k])
		if starts && ends {
			b.WriteString(to)
		} else {
			b.WriteString(from)
		}
		a = a[end:]
	}
}

// progressEvery is how often a running task's progress is read.
func (x *Executor) progressEvery() time.Duration {
	if x.ProgressEvery > 0 {
		return x.ProgressEvery
	}
	return 2 * time.Second
}

// wait follows the service's task until it reaches a final state: at each
// event the engine reports for it (or for a node), and at every poll, which
// remains the only signal for tasks on other nodes than the manager (Swarm
// publishes no task events). fresh: the service was just created, and its
// time to running is measured for the standbys.
//
// A task behind a gate (gate != "") has ended well as soon as its exit file
// says 0, which is read every exitPoll; any other status waits for Swarm's
// report, whose message names the cause.
func (x *Executor) wait(ctx context.Context, serviceID, name, gate string, node scheduler.Node, onProgress func(media.Progress), fresh bool) error {
	poll := x.Poll
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	pendingFor := x.PendingTimeout
	if pendingFor <= 0 {
		pendingFor = 2 * time.Minute
	}
	start := time.Now()
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	progressEvery := x.progressEvery()
	x.mu.Lock()
	if src, ok := x.Engine.(EventSource); ok && x.events.src == nil {
		x.events.src = src
	}
	x.mu.Unlock()
	wake := x.events.subscribe(serviceID)
	defer x.events.unsubscribe(serviceID)
	var exited <-chan time.Time
	if gate != "" {
		t := time.NewTicker(exitPoll)
		defer t.Stop()
		exited = t.C
	}
	lastNodeCheck, lastProgress := time.Now(), time.Now()
	running := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			if exitedOK(gate) {
				return nil
			}
			continue
		case <-ticker.C:
		case <-wake:
		}
		// A stopped node's task stays "running" in Swarm's books for a
		// while: the node's own state tells sooner.
		if time.Since(lastNodeCheck) > 2*time.Second {
			lastNodeCheck = time.Now()
			if down, state := x.nodeDown(ctx, node.ID); down {
				x.MarkLost(node.ID)
				return fmt.Errorf("task %s: node %s is %s", name, node.Hostname, state)
			}
		}
		tasks, err := x.Engine.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue // a manager hiccup; the next poll may answer
		}
		if len(tasks) == 0 {
			if time.Since(start) > pendingFor {
				return fmt.Errorf("service %s: no task created in %s", name, pendingFor)
			}
			continue
		}
		t := latest(tasks)
		if fresh && t.Status.State != swarm.TaskStateNew && t.Status.State != swarm.TaskStatePending &&
			t.Status.State != swarm.TaskStateAssigned && t.Status.State != swarm.TaskStateAllocated &&
			t.Status.State != swarm.TaskStateAccepted && t.Status.State != swarm.TaskStatePreparing &&
			t.Status.State != swarm.TaskStateReady && t.Status.State != swarm.TaskStateStarting {
			fresh = false
			x.measuredStartup(time.Since(start))
		}
		if !running && t.Status.State == swarm.TaskStateRunning {
			running = true
			if onProgress != nil {
				// Nothing done yet, from now: the dispatcher times the
				// task from here, not from its service's creation, and
				// does not take a slow start for a slow node.
				onProgress(media.Progress{})
			}
		}
		if done, err := x.outcome(ctx, t, name, node); done {
			return err
		}
		if onProgress != nil && t.Status.State == swarm.TaskStateRunning && time.Since(lastProgress) > progressEvery {
			lastProgress = time.Now()
			out, _ := taskLogs(ctx, x.Engine, t.ID, 15)
			// The last report is await's to give, timed (clockFromLogs).
			if p, ok := progressOf(out); ok && !p.Done {
				onProgress(p)
			}
		}
		if t.Status.State == swarm.TaskStatePending || t.Status.State == swarm.TaskStateNew ||
			t.Status.State == swarm.TaskStateAssigned || t.Status.State == swarm.TaskStateAllocated {
			if time.Since(start) > pendingFor {
				return fmt.Errorf("service %s on node %s: not started after %s (%s)", name, node.Hostname, pendingFor, x.scrub(t.Status.Message))
			}
		}
	}
}

// outcome reads a task's state: whether it is final, and its error.
func (x *Executor) outcome(ctx context.Context, t swarm.Task, name string, node scheduler.Node) (bool, error) {
	switch t.Status.State {
	case swarm.TaskStateComplete:
		return true, nil
	case swarm.TaskStateFailed, swarm.TaskStateRejected:
		code := -1
		if cs := t.Status.ContainerStatus; cs != nil {
			code = cs.ExitCode
		}
		msg := t.Status.Err
		// Only stderr: stdout carries ffmpeg's progress reports.
		if _, lines := taskLogs(ctx, x.Engine, t.ID, 40); len(lines) > 0 {
			msg = media.TellingLine(lines)
		}
		msg = x.scrub(msg)
		// A container that never started (its mount failed, say) has
		// an exit code too, but ffmpeg never ran.
		started := !strings.HasPrefix(t.Status.Err, "starting container failed")
		if code >= 0 && t.Status.State == swarm.TaskStateFailed && started {
			return true, &media.ToolError{Tool: "ffmpeg", ExitCode: code, LastLine: msg, Err: errors.New(string(t.Status.State))}
		}
		return true, fmt.Errorf("task %s on node %s: %s", t.Status.State, node.Hostname, msg)
	case swarm.TaskStateOrphaned, swarm.TaskStateShutdown, swarm.TaskStateRemove:
		// The node went away with the task (or Swarm gave up on it).
		x.MarkLost(node.ID)
		return true, fmt.Errorf("task %s on node %s: %s (node lost?)", name, node.Hostname, t.Status.State)
	}
	return false, nil
}

// scrub hides secrets in what the engine says about a task: Docker 20.10
// quotes a failed volume mount's options, a CIFS password among them, in
// the task's error. Every task error is read through here.
func (x *Executor) scrub(msg string) string {
	return nfs.Scrub(msg, nfs.MountSecrets(x.Mounts)...)
}

// MarkLost records that a node is gone, so that no more tasks go to it.
func (x *Executor) MarkLost(nodeID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.lost == nil {
		x.lost = map[string]bool{}
	}
	x.lost[nodeID] = true
	for i, n := range x.Nodes {
		if n.ID == nodeID && x.d != nil {
			x.d.Down(i)
		}
	}
}

// serviceOutput reads the last lines of a finished service's task, and
// names the task.
func (x *Executor) serviceOutput(ctx context.Context, serviceID string) (taskID string, out []string) {
	tasks, err := x.Engine.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", serviceID))})
	if err != nil || len(tasks) == 0 {
		return "", nil
	}
	taskID = latest(tasks).ID
	out, _ = taskLogs(ctx, x.Engine, taskID, 50)
	return taskID, out
}

// clockFromLogs sets p.Elapsed, for a task whose ffmpeg gave no clock,
// from the times the node stamped on its reports: the whole task at the
// rate seen between its first and last.
func (x *Executor) clockFromLogs(ctx context.Context, taskID string, p *media.Progress) {
	if frames, secs, ok := reportClock(ctx, x.Engine, taskID); ok {
		p.Elapsed = float64(p.Frame) * secs / float64(frames)
	}
}

// exitPoll is how often a gated task's exit file is looked for: a stat on
// the storage, no request to the manager.
const exitPoll = 25 * time.Millisecond

// endReported reports whether log lines hold ffmpeg's last -progress
// report.
func endReported(lines []string) bool {
	p, ok := progressOf(lines)
	return ok && p.Done
}

// progressOf reads the latest complete -progress report in log lines.
func progressOf(lines []string) (media.Progress, bool) {
	var last media.Progress
	found := false
	media.ParseProgress(strings.NewReader(strings.Join(lines, "\n")), func(p media.Progress) {
		last, found = p, true
	})
	return last, found
}

// nodeDown reports whether the node left the swarm or stopped answering.
func (x *Executor) nodeDown(ctx context.Context, id string) (bool, string) {
	nodes, err := x.Engine.NodeList(ctx, swarm.NodeListOptions{Filters: filters.NewArgs(filters.Arg("id", id))})
	if err != nil {
		return false, ""
	}
	for _, n := range nodes {
		if n.ID == id {
			st := n.Status.State
			return st == swarm.NodeStateDown || st == swarm.NodeStateDisconnected, string(st)
		}
	}
	return true, "gone"
}

func latest(tasks []swarm.Task) swarm.Task {
	best := tasks[0]
	for _, t := range tasks[1:] {
		if t.Meta.CreatedAt.After(best.Meta.CreatedAt) {
			best = t
		}
	}
	return best
}

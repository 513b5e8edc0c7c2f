package stack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
)

// A standby hides a task's start-up (service creation, Swarm's placement,
// the container's start: 1.5 s or more) behind the task before it: when a
// slot's running task will end within about that time, a service is started
// on its node whose container runs `dswarm standby GATE` and waits. The next
// ffmpeg task given that node takes it over: dswarm writes the task's
// command into GATE, and the container runs it at once. The standby runs
// nothing until then, so it is a window, not a second slot; its reservation
// (see reserve) lets Swarm put a slot's task and one standby on a node, and
// no more. A standby nobody takes is removed.
type standby struct {
	serviceID, name string
	node            int    // index in x.Nodes
	merge           bool   // for a job.RoleMerge task (its mounts differ), else a segment
	gate            string // the gate file on this machine
	claimed, gone   bool
	placed          bool // its node has taken its task (Swarm's state past pending)
	created         time.Time
}

// standbyPatience is how long after its creation a task waits at most for
// a standby its node is starting. A node that has placed the standby is
// setting its container up, and a new service would queue behind the same
// work (the first container of a job on a node also sets the node's network
// up: 3-3.5 s on the test swarm, where a service otherwise starts in 1.5 s).
const standbyPatience = 15 * time.Second

// open reports whether s is an unclaimed standby of node ni and kind merge
// still in place.
func (s *standby) open(ni int, merge bool) bool {
	return s.node == ni && s.merge == merge && !s.claimed && !s.gone
}

// newRunTag is a short random mark for one run's standby names.
func newRunTag() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	return hex.EncodeToString(b[:])
}

// removeGates removes the gate files and ready marks an earlier run of the
// job left in its work folder dir.
func removeGates(dir string) {
	old, _ := filepath.Glob(filepath.Join(dir, ".standby-*.gate*"))
	for _, f := range old {
		os.Remove(f)
	}
}

// StandbyCommand is the worker command that waits for a task's command in
// gate (the path in the task's container) and runs it.
func StandbyCommand(gate string) []string { return []string{"dswarm", "standby", gate} }

// isStandbyCommand reports whether cmd is a StandbyCommand.
func isStandbyCommand(cmd []string) bool {
	return len(cmd) == 3 && cmd[0] == "dswarm" && cmd[1] == "standby"
}

// WriteGate hands a standby its command: written to a temporary file and
// renamed, so the standby never reads half of it.
func WriteGate(path string, argv []string) error {
	b, err := json.Marshal(argv)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("standby gate: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("standby gate: %w", err)
	}
	return nil
}

// readyFile is where a standby says it runs and waits: a standby is taken
// over only then (one whose container failed to start, or whose image has
// no `dswarm standby`, never says so).
func readyFile(gate string) string { return gate + ".ready" }

// exitFile is where a task run through a gate leaves its exit status when
// its command ends: dswarm reads it sooner than Swarm reports the task's
// end (its agent reports a task's state to the manager 0.3-0.4 s after the
// container exits, on the test swarm), and starts what waited for the task
// that much earlier. Swarm's own report stays the authority for failures.
func exitFile(gate string) string { return gate + ".exit" }

// WriteExit leaves a gated command's exit status beside its gate: written
// to a temporary file and renamed, so a reader sees all of it or nothing.
func WriteExit(gate string, code int) error {
	tmp := exitFile(gate) + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(code)+"\n"), 0o644); err != nil {
		return fmt.Errorf("exit status: %w", err)
	}
	if err := os.Rename(tmp, exitFile(gate)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("exit status: %w", err)
	}
	return nil
}

// exitedOK reports whether the command behind gate has ended with status 0.
func exitedOK(gate string) bool {
	b, err := os.ReadFile(exitFile(gate))
	return err == nil && strings.TrimSpace(string(b)) == "0"
}

// removeGate removes a gate and the marks its standby left.
func removeGate(gate string) {
	for _, f := range []string{gate, readyFile(gate), exitFile(gate)} {
		os.Remove(f)
	}
}

// AwaitGate says the standby is ready, waits until gate exists and returns
// the command in it: ffmpeg and its arguments, nothing else.
func AwaitGate(ctx context.Context, gate string, every time.Duration) ([]string, error) {
	if err := os.WriteFile(readyFile(gate), nil, 0o644); err != nil {
		return nil, fmt.Errorf("standby gate: %w", err)
	}
	for {
		b, err := os.ReadFile(gate)
		if err == nil {
			var argv []string
			if err := json.Unmarshal(b, &argv); err != nil {
				return nil, fmt.Errorf("standby gate %s: %w", gate, err)
			}
			if len(argv) == 0 || argv[0] != "ffmpeg" {
				return nil, fmt.Errorf("standby gate %s: not an ffmpeg command", gate)
			}
			return argv, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("standby gate: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(every):
		}
	}
}

// startupTime is the measured time from a service's creation to its task
// running (x.Startup until one is measured); x.mu is held.
func (x *Executor) startupTime() time.Duration {
	if x.startupEst > 0 {
		return x.startupEst
	}
	if x.Startup > 0 {
		return x.Startup
	}
	return 1500 * time.Millisecond
}

// measuredStartup records one service's time from creation to running.
func (x *Executor) measuredStartup(d time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.startupEst == 0 {
		x.startupEst = d
	} else {
		x.startupEst = (x.startupEst + d) / 2
	}
}

// nearEnd is told how long a segment's task on node ni has left. When that
// is less than a start-up (plus the time to the next progress report) and
// work is left to hand out, a standby starts on the node, one per slot at
// most. When it is the job's last segment and a task writes the job's
// output (a ladder's packaging, job.RoleMerge; a transcode's merge runs in
// the runner's sandbox and Confine gave no partial), the standby is that
// task's, on the node it will take (the fastest).
func (x *Executor) nearEnd(ni int, left time.Duration) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.NoStandby || x.standbyOff || x.workDir == "" || x.d == nil {
		return
	}
	if left > x.startupTime()+x.progressEvery() {
		return
	}
	merge := false
	if x.d.Pending() == 0 {
		// Nothing left to hand out: the next task on the fastest node is
		// the one that writes the output, whichever segment ends last;
		// none where no task does.
		if x.partial == "" {
			return
		}
		busy := make([]int, len(x.Nodes))
		mi, err := scheduler.PickFree(x.Nodes, busy, x.lost, nil)
		if err != nil || mi < 0 {
			return
		}
		ni, merge = mi, true
	}
	n := 0
	for _, s := range x.standbys {
		if s.open(ni, merge) {
			n++
		}
	}
	if n >= max(x.Nodes[ni].Slots, 1) || merge && n > 0 {
		return
	}
	go x.runStandby(x.newStandby(ni, merge))
}

// newStandby records a standby for node ni, to be created; x.mu is held.
func (x *Executor) newStandby(ni int, merge bool) *standby {
	x.gates++
	if x.runTag == "" {
		// A scheduler restarted mid-job runs the job again in the same
		// folder: its standbys must not take the gate files (or the ready
		// marks) an earlier run left, or a new standby would run the old
		// run's command at once and end before its task wrote its own.
		x.runTag = newRunTag()
	}
	s := &standby{node: ni, merge: merge, created: time.Now(), name: fmt.Sprintf("standby-%s-%d", x.runTag, x.gates)}
	s.gate = filepath.Join(x.HostRoot, x.workDir, fmt.Sprintf(".%s.gate", s.name))
	x.standbys = append(x.standbys, s)
	return s
}

// Warm implements job.Warmer: a standby on every node, started while the
// job probes and plans, takes the node's first segment, whose service's
// start-up (1-1.6 s on the test swarm, its node's network set up with it)
// then falls in the probe's time instead of after it. The services exist
// when Warm returns, so RemoveJob finds them whatever becomes of the job.
// The nodes' holders are made alongside (holdNetwork).
func (x *Executor) Warm(jobID string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		x.holdNetwork()
	}()
	x.mu.Lock()
	if x.NoStandby || x.standbyOff || x.workDir == "" {
		x.mu.Unlock()
		return
	}
	x.jobID = jobID
	var made []*standby
	for ni, n := range x.Nodes {
		if !x.lost[n.ID] {
			made = append(made, x.newStandby(ni, false))
		}
	}
	x.mu.Unlock()
	for _, s := range made {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if x.createStandby(s) {
				go x.watchStandby(s)
			}
		}()
	}
}

// runStandby creates the standby's service and watches it.
func (x *Executor) runStandby(s *standby) {
	if x.createStandby(s) {
		x.watchStandby(s)
	}
}

// createStandby creates the standby's service; false (and the standby
// dropped) if it could not.
func (x *Executor) createStandby(s *standby) bool {
	ctx := context.Background()
	node := x.Nodes[s.node]
	role := job.RoleSegment
	if s.merge {
		role = job.RoleMerge
	}
	mounts, err := x.taskMounts(job.Task{Role: role, Name: s.name})
	if err != nil {
		x.dropStandby(ctx, s, false)
		return false
	}
	spec := ServiceSpec(TaskSpec{
		JobID:    x.jobID,
		Name:     s.name,
		Role:     "standby",
		Segment:  -1,
		Attempt:  1,
		Image:    x.Image,
		Command:  StandbyCommand(x.rewrite([]string{s.gate})[0]),
		NodeID:   node.ID,
		NodeArch: node.Arch,
		Mounts:   mounts,
		User:     x.taskUser(),
	}.reserve("ffmpeg", node))
	spec.TaskTemplate.Placement.Platforms = ImagePlatforms(node.Image)
	if err := x.ensureNetwork(ctx); err != nil {
		x.dropStandby(ctx, s, false)
		return false
	}
	created, err := x.Engine.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		x.dropStandby(ctx, s, false)
		return false
	}
	x.mu.Lock()
	s.serviceID = created.ID
	x.mu.Unlock()
	return true
}

// watchStandby watches a standby's service until a task takes it over;
// unclaimed, it is removed once its node's slots have been free for a
// while (the dispatcher gave the work elsewhere), a segment's also once no
// segment is left to hand out, or if it fails. It notes when the node has
// placed it (see standbyComing). One made
// before the job placed its segments (Warm) waits for that, and ends with
// its service if the job ends first.
func (x *Executor) watchStandby(s *standby) {
	ctx := context.Background()
	node := x.Nodes[s.node]
	id := s.serviceID
	wake := x.events.subscribe(id)
	defer x.events.unsubscribe(id)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var idleSince, lastSeen time.Time
	for first := true; ; first = false {
		if !first {
			select {
			case <-tick.C:
			case <-wake:
			}
		}
		x.mu.Lock()
		claimed, gone, jobPlaced := s.claimed, s.gone, x.d != nil
		own := 1 // not placed yet: its segments are to come
		switch {
		case jobPlaced && !s.merge && x.d.Pending() == 0:
			// No segment is left to hand out: an idle segment standby
			// would only hold its reservation, which the merge's standby
			// or service may need on this node.
			own = 0
		case jobPlaced:
			own = x.d.Busy(s.node) - x.Pool.Others(x.jobID, node.ID)
			if s.merge {
				own += len(x.races) // segments still run: the merge is to come
			}
		}
		x.mu.Unlock()
		if claimed || gone {
			return // the task that took it over removes it, or it went
		}
		if !jobPlaced && time.Since(lastSeen) > 2*time.Second {
			if !x.serviceExists(ctx, id) {
				x.dropStandby(ctx, s, false) // the job ended before its segments
				return
			}
			lastSeen = time.Now()
		}
		if own > 0 {
			idleSince = time.Time{}
		} else if idleSince.IsZero() {
			idleSince = time.Now()
		}
		if !idleSince.IsZero() && time.Since(idleSince) > 2*time.Second || time.Since(s.created) > 10*time.Minute {
			x.dropStandby(ctx, s, false)
			return
		}
		tasks, err := x.Engine.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", id))})
		if err == nil && len(tasks) > 0 {
			switch latest(tasks).Status.State {
			case swarm.TaskStateFailed, swarm.TaskStateRejected, swarm.TaskStateComplete,
				swarm.TaskStateOrphaned, swarm.TaskStateShutdown, swarm.TaskStateRemove:
				// Ended before any task took it: an image without
				// `dswarm standby`, say. No more standbys for this job.
				x.dropStandby(ctx, s, true)
				return
			case swarm.TaskStateNew, swarm.TaskStatePending:
			default:
				x.mu.Lock()
				s.placed = true
				x.mu.Unlock()
			}
		}
	}
}

// dropStandby removes an unclaimed standby (unless a task claimed it in the
// meantime); off turns standbys off for the job.
func (x *Executor) dropStandby(ctx context.Context, s *standby, off bool) {
	x.mu.Lock()
	if s.claimed {
		x.mu.Unlock()
		return
	}
	s.gone = true
	x.standbyOff = x.standbyOff || off
	id := s.serviceID
	x.mu.Unlock()
	os.Remove(readyFile(s.gate))
	if id != "" {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		_ = x.Engine.ServiceRemove(rctx, id)
	}
}

// awaitStandby takes over a standby on node ni for task t: one that is up,
// or else one still starting (see standbyComing). If none comes, the
// standbys of t's kind still starting on ni are removed: the new service t
// starts instead takes their share of the node, and one of them placed
// later would hold a reservation that the node's next task (the merge's
// service, say) then could not get.
func (x *Executor) awaitStandby(ctx context.Context, ni int, t job.Task) *standby {
	for {
		if sb := x.claimStandby(ni, t); sb != nil {
			return sb
		}
		if !x.standbyComing(ni, t) {
			x.dropLate(ctx, ni, t)
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// standbyKind says whether task t may run in a standby, and in which kind:
// a segment's, or the merge's (which may write its output file).
func standbyKind(t job.Task) (merge, ok bool) {
	if t.Program != "" && t.Program != "ffmpeg" || t.Role != job.RoleSegment && t.Role != job.RoleMerge {
		return false, false
	}
	return t.Role == job.RoleMerge, true
}

// standbyComing reports whether a standby for t on node ni is starting:
// one made within two start-ups, or one its node has taken and is setting
// up, within standbyPatience.
func (x *Executor) standbyComing(ni int, t job.Task) bool {
	merge, ok := standbyKind(t)
	if !ok {
		return false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	limit := 2 * x.startupTime()
	for _, s := range x.standbys {
		if !s.open(ni, merge) {
			continue
		}
		if age := time.Since(s.created); age < limit || s.placed && age < standbyPatience {
			return true
		}
	}
	return false
}

// dropLate removes the unclaimed standbys of t's kind on node ni that are
// not up.
func (x *Executor) dropLate(ctx context.Context, ni int, t job.Task) {
	merge, ok := standbyKind(t)
	if !ok {
		return
	}
	x.mu.Lock()
	var late []*standby
	for _, s := range x.standbys {
		if s.open(ni, merge) {
			if _, err := os.Stat(readyFile(s.gate)); err != nil {
				late = append(late, s)
			}
		}
	}
	x.mu.Unlock()
	for _, s := range late {
		x.dropStandby(ctx, s, false)
	}
}

// claimStandby takes over a standby on node ni for task t, if one is up
// and made for t's kind.
func (x *Executor) claimStandby(ni int, t job.Task) *standby {
	merge, ok := standbyKind(t)
	if !ok {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, s := range x.standbys {
		if !s.open(ni, merge) || s.serviceID == "" {
			continue
		}
		if _, err := os.Stat(readyFile(s.gate)); err == nil {
			s.claimed = true
			return s
		}
	}
	return nil
}

// forgetStandby drops a claimed standby from the executor's list.
func (x *Executor) forgetStandby(s *standby) {
	x.mu.Lock()
	defer x.mu.Unlock()
	keep := x.standbys[:0]
	for _, o := range x.standbys {
		if o != s && !o.gone {
			keep = append(keep, o)
		}
	}
	x.standbys = keep
	removeGate(s.gate)
}

// serviceExists reports whether service id is still in the swarm (an
// error that is not an answer counts as yes).
func (x *Executor) serviceExists(ctx context.Context, id string) bool {
	svcs, err := x.Engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("id", id))})
	if err != nil {
		return true
	}
	for _, s := range svcs {
		if s.ID == id {
			return true
		}
	}
	return false
}

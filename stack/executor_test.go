package stack

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// fakeEngine is a Docker API fake for unit tests: services run "instantly"
// with the outcome outcomeFunc chooses for their spec.
type fakeEngine struct {
	Engine
	mu       sync.Mutex
	created  []swarm.ServiceSpec
	removed  []string
	live     map[string]swarm.ServiceSpec
	outcome  func(spec swarm.ServiceSpec) (swarm.TaskState, int)
	nodeDown map[string]bool
	logs     string
	taskErr  string // a failed task's Status.Err
	// timed, when set, decides a task's state from the time since its
	// service was created; a completed task's last argument is written as
	// a file holding the service's name.
	timed    func(spec swarm.ServiceSpec, elapsed time.Duration) swarm.TaskState
	created0 map[string]time.Time
	progress func(spec swarm.ServiceSpec, elapsed time.Duration) int64
	onCreate func(live map[string]swarm.ServiceSpec) // called with the lock held
	gates    map[string]string                       // service ID -> the gate it ran behind
}

func newFake(outcome func(swarm.ServiceSpec) (swarm.TaskState, int)) *fakeEngine {
	return &fakeEngine{live: map[string]swarm.ServiceSpec{}, outcome: outcome, nodeDown: map[string]bool{}}
}

func (f *fakeEngine) ServiceCreate(_ context.Context, spec swarm.ServiceSpec, opts swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if opts.QueryRegistry {
		return swarm.ServiceCreateResponse{}, errors.New("no registry here")
	}
	id := spec.Name + "-id"
	if cmd := spec.TaskTemplate.ContainerSpec.Command; isStandbyCommand(cmd) {
		// A task behind a gate dswarm wrote first: the container runs
		// the gate's command at once, and leaves its exit status.
		if b, err := os.ReadFile(cmd[2]); err == nil {
			var argv []string
			if err := json.Unmarshal(b, &argv); err != nil {
				return swarm.ServiceCreateResponse{}, err
			}
			cs := *spec.TaskTemplate.ContainerSpec
			cs.Command = argv
			spec.TaskTemplate.ContainerSpec = &cs
			if f.gates == nil {
				f.gates = map[string]string{}
			}
			f.gates[id] = cmd[2]
		}
	}
	f.created = append(f.created, spec)
	f.live[id] = spec
	if f.created0 == nil {
		f.created0 = map[string]time.Time{}
	}
	f.created0[id] = time.Now()
	if f.onCreate != nil {
		f.onCreate(f.live)
	}
	return swarm.ServiceCreateResponse{ID: id}, nil
}

func (f *fakeEngine) ServiceRemove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	delete(f.live, id)
	return nil
}

func (f *fakeEngine) TaskList(_ context.Context, opts swarm.TaskListOptions) ([]swarm.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := opts.Filters.Get("service")[0]
	spec, ok := f.live[id]
	if !ok {
		return nil, nil
	}
	var state swarm.TaskState
	var code int
	if f.timed != nil {
		state = f.timed(spec, time.Since(f.created0[id]))
		if state == swarm.TaskStateComplete {
			cmd := spec.TaskTemplate.ContainerSpec.Command
			if err := os.WriteFile(cmd[len(cmd)-1], []byte(spec.Name), 0o644); err != nil {
				state, code = swarm.TaskStateFailed, 1
			}
		}
	} else {
		state, code = f.outcome(spec)
	}
	if gate := f.gates[id]; gate != "" && (state == swarm.TaskStateComplete || state == swarm.TaskStateFailed) {
		if err := WriteExit(gate, code); err != nil {
			return nil, err
		}
	}
	t := swarm.Task{ID: id + "-task", Status: swarm.TaskStatus{State: state, Err: f.taskErr, ContainerStatus: &swarm.ContainerStatus{ExitCode: code}}}
	return []swarm.Task{t}, nil
}

// NodeList lists the nodes asked for by ID, or without a filter those of
// testNodes.
func (f *fakeEngine) NodeList(_ context.Context, opts swarm.NodeListOptions) ([]swarm.Node, error) {
	var out []swarm.Node
	ids := opts.Filters.Get("id")
	if opts.Filters.Len() == 0 {
		for _, n := range testNodes() {
			ids = append(ids, n.ID)
		}
	}
	for _, id := range ids {
		n := swarm.Node{ID: id}
		n.Status.State = swarm.NodeStateReady
		if f.nodeDown[id] {
			n.Status.State = swarm.NodeStateDown
		}
		out = append(out, n)
	}
	return out, nil
}

// TaskLogs returns the logs in the engine's multiplexed format: f.logs on
// stderr, and for timed tasks a -progress report on stdout (frames done so
// far at the task's true speed).
func (f *fakeEngine) NetworkList(context.Context, network.ListOptions) ([]network.Summary, error) {
	return []network.Summary{{Name: IsolatedNetwork, Internal: true}}, nil
}

func (f *fakeEngine) NetworkCreate(context.Context, string, network.CreateOptions) (network.CreateResponse, error) {
	return network.CreateResponse{}, errors.New("the fake has the network already")
}

func (f *fakeEngine) TaskLogs(_ context.Context, taskID string, _ container.LogsOptions) (io.ReadCloser, error) {
	var b bytes.Buffer
	frame := func(stream byte, s string) {
		hdr := make([]byte, 8)
		hdr[0] = stream
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(s)))
		b.Write(hdr)
		b.WriteString(s)
	}
	f.mu.Lock()
	id := strings.TrimSuffix(taskID, "-task")
	if spec, ok := f.live[id]; ok && f.progress != nil {
		// As ffmpeg prints it: out_time at 25 fps, and speed, its ratio
		// to ffmpeg's clock (here the time since creation).
		el := time.Since(f.created0[id])
		n := f.progress(spec, el)
		frame(1, fmt.Sprintf("frame=%d\nout_time_us=%d\nspeed=%.6fx\nprogress=continue\n", n, n*40000, float64(n)/25/max(el.Seconds(), 1e-9)))
	}
	f.mu.Unlock()
	frame(2, f.logs)
	return io.NopCloser(&b), nil
}

func testNodes() []scheduler.Node {
	return []scheduler.Node{
		{ID: "n1", Hostname: "node1", Arch: "x86_64", Weight: 48, Slots: 1, CPUs: 2},
		{ID: "n2", Hostname: "node2", Arch: "aarch64", Weight: 36, Slots: 1, CPUs: 4},
		{ID: "n3", Hostname: "node3", Arch: "armv7l", Weight: 12, Slots: 1, CPUs: 4},
	}
}

func newExec(f *fakeEngine) *Executor {
	return &Executor{Engine: f, Image: "img", Nodes: testNodes(), HostRoot: "/host/store", NodeRoot: "/srv/dswarm", Poll: time.Millisecond, ProgressEvery: 10 * time.Millisecond}
}

func constraintNode(spec swarm.ServiceSpec) string {
	for _, c := range spec.TaskTemplate.Placement.Constraints {
		if id, ok := strings.CutPrefix(c, "node.id=="); ok {
			return id
		}
	}
	return ""
}

// speedExec is an executor on the fake engine whose nodes encode frames at
// the given true speeds (see trueSpeed), with a start-up of 1 ms and the
// storage in a temporary folder.
func speedExec(t *testing.T, speeds map[string]float64, frames float64, scale time.Duration) (*fakeEngine, *Executor, string) {
	f := newFake(nil)
	trueSpeed(f, speeds, frames, scale)
	x := newExec(f)
	x.Startup = time.Millisecond
	dir := t.TempDir()
	x.HostRoot, x.NodeRoot = dir, dir
	return f, x, dir
}

// segmentsOf is n segments of frames frames each.
func segmentsOf(n, frames int) []scheduler.Segment {
	segs := make([]scheduler.Segment, n)
	for i := range segs {
		segs[i] = scheduler.Segment{Index: i, Count: frames}
	}
	return segs
}

// runSegments runs every segment's first attempt at once, as the job
// runner does, and returns the nodes they ran on.
func runSegments(t *testing.T, x *Executor, n int, dir string) []string {
	return runSegmentsOf(t, x, "job1", n, dir)
}

func runSegmentsOf(t *testing.T, x *Executor, jobID string, n int, dir string) []string {
	nodes := make([]string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(dir, fmt.Sprintf("seg-%03d.nut", i))
			res, err := x.Run(context.Background(), job.Task{JobID: jobID, Name: fmt.Sprintf("seg-%03d", i), Role: job.RoleSegment, Segment: i, Attempt: 1,
				Args: []string{"-i", "/host/store/upload/in.mp4", out}, Output: out})
			assert.NoError(t, err)
			nodes[i] = res.Node
		}()
	}
	wg.Wait()
	return nodes
}

// trueSpeed makes the fake's tasks take frames/speed*scale on a node, and
// report their progress at that speed.
func trueSpeed(f *fakeEngine, speeds map[string]float64, frames float64, scale time.Duration) {
	f.timed = func(spec swarm.ServiceSpec, elapsed time.Duration) swarm.TaskState {
		if elapsed < time.Duration(frames/speeds[constraintNode(spec)]*float64(scale)) {
			return swarm.TaskStateRunning
		}
		return swarm.TaskStateComplete
	}
	f.progress = func(spec swarm.ServiceSpec, elapsed time.Duration) int64 {
		return int64(min(elapsed.Seconds()/scale.Seconds()*speeds[constraintNode(spec)], frames))
	}
}

// TestExecutorDispatchesByWeight: true speeds equal to the weights; the
// segments land in proportion to them (within one of the static plan),
// every service is removed, paths are rewritten.
func TestExecutorDispatchesByWeight(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f, x, dir := speedExec(t, map[string]float64{"n1": 48, "n2": 36, "n3": 12}, 25, 100*time.Millisecond)
		segs := segmentsOf(24, 25)
		conc, err := x.Place("job1", segs)
		require.NoError(t, err)
		assert.Equal(t, 24, conc, "every segment may wait; the dispatcher starts them")

		counts := map[string]int{}
		for _, n := range runSegments(t, x, len(segs), dir) {
			counts[n]++
		}
		for _, p := range x.Placement() {
			t.Logf("%s: planned %d, ran %d; %s", p.Node, p.Planned, counts[p.Node], p.Reason)
			assert.InDelta(t, p.Planned, counts[p.Node], 1, "%s ran %d, planned %d", p.Node, counts[p.Node], p.Planned)
		}
		assert.Equal(t, 12, x.Placement()[0].Planned)
		assert.Len(t, f.created, 24, "no backups: nothing straggled")
		assert.Len(t, f.removed, 24)
		assert.Empty(t, f.live, "every service removed")
		cmd := f.created[0].TaskTemplate.ContainerSpec.Command
		assert.Equal(t, []string{"ffmpeg", "-progress", "pipe:1"}, cmd[:3], "progress feeds the dispatcher")
	})
}

// TestExecutorBackupWins: node3's weight says it is as fast as the others,
// but it is 20x slower. The last segment it holds gets a backup on an idle
// node; the backup wins, its file becomes the segment's, the straggler's
// service is removed, and no backup file is left.
func TestExecutorBackupWins(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(nil)
		trueSpeed(f, map[string]float64{"n1": 40, "n2": 40, "n3": 2}, 25, 100*time.Millisecond)
		x := newExec(f)
		for i := range x.Nodes {
			x.Nodes[i].Weight = 40
		}
		x.Startup = time.Millisecond
		dir := t.TempDir()
		x.HostRoot, x.NodeRoot = dir, dir
		segs := make([]scheduler.Segment, 3)
		for i := range segs {
			segs[i] = scheduler.Segment{Index: i, Count: 25}
		}
		_, err := x.Place("j", segs)
		require.NoError(t, err)
		nodes := runSegments(t, x, 3, dir)
		assert.NotContains(t, nodes, "node3", "the straggler lost its race")
		var names []string
		for _, s := range f.created {
			names = append(names, s.Name)
		}
		require.Len(t, f.created, 4, "three segments and one backup: %v", names)
		backup := f.created[3].Name
		assert.True(t, strings.HasSuffix(backup, "-backup-a1"), backup)
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		assert.Len(t, files, 3, "no backup file left: %v", files)
		won := false
		for _, file := range files {
			b, _ := os.ReadFile(file)
			won = won || string(b) == backup
		}
		assert.True(t, won, "the backup's file became the segment's")
		assert.Empty(t, f.live, "the straggler's service was removed")
		var p job.NodePlacement
		for _, q := range x.Placement() {
			if q.Node != "node3" {
				p.Backups += q.Backups
			}
		}
		assert.Equal(t, 1, p.Backups)
	})
}

func TestExecutorFailureNamesExitCodeAndLogLine(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateFailed, 1 })
		f.logs = "[libx264 @ 0x55d0c0ffee00] broken option\nConversion failed!\n"
		x := newExec(f)
		_, err := x.Place("j", []scheduler.Segment{{Count: 1}})
		require.NoError(t, err)
		_, err = x.Run(context.Background(), job.Task{JobID: "j", Name: "seg-000", Role: job.RoleSegment, Segment: 0, Attempt: 1})
		var te *media.ToolError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 1, te.ExitCode)
		assert.Equal(t, "libx264: broken option", te.LastLine)
		assert.Empty(t, f.live, "a failed task's service is removed too")
	})
}

func TestExecutorRetryAvoidsFailedNode(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateComplete, 0 })
		x := newExec(f)
		_, err := x.Place("j", []scheduler.Segment{{Count: 1}})
		require.NoError(t, err)
		res, err := x.Run(context.Background(), job.Task{JobID: "j", Name: "seg-000", Role: job.RoleSegment, Segment: 0, Attempt: 2, Avoid: []string{"node1"}})
		require.NoError(t, err)
		assert.Equal(t, "node2", res.Node, "the heaviest node that did not fail it")
		assert.Equal(t, "n2", constraintNode(f.created[0]))
		assert.Contains(t, f.created[0].TaskTemplate.Placement.Constraints, "node.platform.arch==aarch64")
	})
}

func TestExecutorLostNode(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateRunning, 0 })
		f.nodeDown["n1"] = true
		x := newExec(f)
		_, err := x.Place("j", []scheduler.Segment{{Count: 1}, {Count: 1}})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = x.Run(ctx, job.Task{JobID: "j", Name: "seg-000", Role: job.RoleSegment, Segment: 0, Attempt: 1})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "node node1 is down")
		assert.Empty(t, f.live)

		// Segment 1 was also planned on node1; it now goes elsewhere.
		f.outcome = func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateComplete, 0 }
		res, err := x.Run(ctx, job.Task{JobID: "j", Name: "seg-001", Role: job.RoleSegment, Segment: 1, Attempt: 1})
		require.NoError(t, err)
		assert.NotEqual(t, "node1", res.Node)
	})
}

func TestExecutorCancelRemovesService(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateRunning, 0 })
		x := newExec(f)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		_, err := x.Run(ctx, job.Task{JobID: "j", Name: "audio", Role: job.RoleAudio, Segment: -1, Attempt: 1})
		require.ErrorIs(t, err, context.Canceled)
		require.Len(t, f.created, 1)
		assert.Empty(t, f.live, "removed although the job's context was cancelled")
	})
}

func TestRemoveJob(t *testing.T) {
	f := &listFake{services: []swarm.Service{{ID: "a"}, {ID: "b"}}}
	require.NoError(t, RemoveJob(context.Background(), f, "job9"))
	assert.Equal(t, "dswarm.job=job9", f.filter)
	assert.Equal(t, []string{"a", "b"}, f.removed)
}

type listFake struct {
	Engine
	services []swarm.Service
	filter   string
	removed  []string
}

func (l *listFake) ServiceList(_ context.Context, opts swarm.ServiceListOptions) ([]swarm.Service, error) {
	l.filter = opts.Filters.Get("label")[0]
	return l.services, nil
}

func (l *listFake) ServiceRemove(_ context.Context, id string) error {
	l.removed = append(l.removed, id)
	return nil
}

func TestPlacementExplains(t *testing.T) {
	f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateComplete, 0 })
	x := newExec(f)
	x.Rejected = map[string]string{"pi-zero": "wrong arch"}
	segs := make([]scheduler.Segment, 8)
	for i := range segs {
		segs[i] = scheduler.Segment{Index: i, Count: 25}
	}
	_, err := x.Place("j", segs)
	require.NoError(t, err)
	got := map[string]job.NodePlacement{}
	for _, p := range x.Placement() {
		got[p.Node] = p
	}
	assert.Equal(t, 4, got["node1"].Planned)
	assert.Equal(t, 3, got["node2"].Planned)
	assert.Equal(t, 1, got["node3"].Planned)
	assert.Contains(t, got["node1"].Reason, "weight 48 x 1 slot(s) is 50% of the cluster's speed at the start")
	assert.Equal(t, "not eligible: wrong arch", got["pi-zero"].Reason)
	assert.Zero(t, got["pi-zero"].Planned)
}

func TestProgressOf(t *testing.T) {
	p, ok := progressOf([]string{"fps=30.5", "progress=continue", "frame=120", "fps=31.0", "progress=continue", "frame=130"})
	require.True(t, ok)
	assert.Equal(t, int64(120), p.Frame, "the last complete report")
	assert.Equal(t, 31.0, p.FPS)
	_, ok = progressOf([]string{"frame=5"})
	assert.False(t, ok, "no complete report yet")
	assert.Equal(t, []string{"ffmpeg", "-progress", "pipe:1", "-nostdin"}, command("", nil, true)[:4])
	assert.Equal(t, []string{"ffmpeg", "-nostdin"}, command("", nil, false)[:2])
	assert.Equal(t, []string{"dswarm", "version"}, command("dswarm", []string{"version"}, true))
}

// A task's ffmpeg that ran under a second printed fps=0 and, with -copyts,
// out_time 0: its reports' log stamps time it (as `docker service logs -t`
// prints them).
func TestClockOf(t *testing.T) {
	stamped := []string{
		"2026-12-07T12:00:01.100000000Z frame=1",
		"2026-12-07T12:00:01.100000100Z fps=0.00",
		"2026-12-07T12:00:01.100000200Z out_time_us=0",
		"2026-12-07T12:00:01.100000300Z progress=continue",
		"2026-12-07T12:00:01.220000000Z frame=25",
		"2026-12-07T12:00:01.220000100Z fps=0.00",
		"2026-12-07T12:00:01.220000200Z progress=end",
	}
	frames, secs, ok := clockOf(stamped)
	require.True(t, ok)
	assert.EqualValues(t, 24, frames, "frames between the first report and the last")
	assert.InDelta(t, 0.12, secs, 1e-6)

	p := media.Progress{Frame: 25, Done: true}
	p.Elapsed = float64(p.Frame) * secs / float64(frames)
	assert.InDelta(t, 200, p.Rate(), 0.01, "24 frames in 0.12 s")

	_, _, ok = clockOf(stamped[4:])
	assert.False(t, ok, "one report times nothing")
	_, _, ok = clockOf([]string{"frame=1", "progress=continue", "frame=25", "progress=end"})
	assert.False(t, ok, "no stamps")
}

// The first thing a task's progress hears is that it runs, with nothing
// done: the dispatcher times the encode from there, not from the service's
// creation, so a slow container start does not read as a slow node.
func TestRunningReportedFirst(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		_, x, dir := speedExec(t, map[string]float64{"n1": 25, "n2": 25, "n3": 25}, 25, 100*time.Millisecond)
		_, err := x.Place("j", []scheduler.Segment{{Index: 0, Count: 25}})
		require.NoError(t, err)
		out := filepath.Join(dir, "seg-000.nut")
		var got []media.Progress
		_, err = x.runOn(context.Background(), job.Task{JobID: "j", Name: "seg-000", Role: job.RoleSegment, Segment: 0, Attempt: 1,
			Args: []string{out}, Output: out}, 0, []string{out}, func(p media.Progress) { got = append(got, p) })
		require.NoError(t, err)
		require.NotEmpty(t, got)
		assert.Equal(t, media.Progress{}, got[0], "running, nothing done")
		assert.Equal(t, 1, countZero(got), "said once")
	})
}

func countZero(ps []media.Progress) int {
	n := 0
	for _, p := range ps {
		if p == (media.Progress{}) {
			n++
		}
	}
	return n
}

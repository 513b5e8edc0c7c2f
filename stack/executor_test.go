package stack

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
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
	f.created = append(f.created, spec)
	id := spec.Name + "-id"
	f.live[id] = spec
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
	state, code := f.outcome(spec)
	t := swarm.Task{ID: id + "-task", Status: swarm.TaskStatus{State: state, ContainerStatus: &swarm.ContainerStatus{ExitCode: code}}}
	return []swarm.Task{t}, nil
}

func (f *fakeEngine) NodeList(_ context.Context, opts swarm.NodeListOptions) ([]swarm.Node, error) {
	var out []swarm.Node
	for _, id := range opts.Filters.Get("id") {
		n := swarm.Node{ID: id}
		n.Status.State = swarm.NodeStateReady
		if f.nodeDown[id] {
			n.Status.State = swarm.NodeStateDown
		}
		out = append(out, n)
	}
	return out, nil
}

// TaskLogs returns the logs in the engine's multiplexed format (stderr).
func (f *fakeEngine) TaskLogs(context.Context, string, container.LogsOptions) (io.ReadCloser, error) {
	var b bytes.Buffer
	hdr := make([]byte, 8)
	hdr[0] = 2
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(f.logs)))
	b.Write(hdr)
	b.WriteString(f.logs)
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
	return &Executor{Engine: f, Image: "img", Nodes: testNodes(), HostRoot: "/host/store", NodeRoot: "/srv/dswarm", Poll: time.Millisecond}
}

func constraintNode(spec swarm.ServiceSpec) string {
	for _, c := range spec.TaskTemplate.Placement.Constraints {
		if id, ok := strings.CutPrefix(c, "node.id=="); ok {
			return id
		}
	}
	return ""
}

func TestExecutorRunsPlannedNodeAndRemovesService(t *testing.T) {
	f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateComplete, 0 })
	x := newExec(f)
	segs := make([]scheduler.Segment, 8)
	for i := range segs {
		segs[i] = scheduler.Segment{Index: i, Count: 25}
	}
	conc, err := x.Place("job1", segs)
	require.NoError(t, err)
	assert.Equal(t, 8, conc, "every segment may be in flight; nodes throttle")

	counts := map[string]int{}
	for i := range segs {
		res, err := x.Run(context.Background(), job.Task{JobID: "job1", Name: "seg", Role: job.RoleSegment, Segment: i, Attempt: 1,
			Args: []string{"-i", "/host/store/upload/in.mp4", "/host/store/tmp/x/seg.nut", "/elsewhere/y"}})
		require.NoError(t, err)
		counts[res.Node]++
	}
	assert.Equal(t, map[string]int{"node1": 4, "node2": 3, "node3": 1}, counts, "planned in proportion to the weights")
	require.Len(t, f.created, 8)
	assert.ElementsMatch(t, f.removed, []string{
		f.created[0].Name + "-id", f.created[1].Name + "-id", f.created[2].Name + "-id", f.created[3].Name + "-id",
		f.created[4].Name + "-id", f.created[5].Name + "-id", f.created[6].Name + "-id", f.created[7].Name + "-id",
	}, "every service removed")
	assert.Empty(t, f.live)

	cmd := f.created[0].TaskTemplate.ContainerSpec.Command
	assert.Equal(t, "ffmpeg", cmd[0])
	assert.Contains(t, cmd, "/srv/dswarm/upload/in.mp4", "storage paths rewritten to the nodes' view")
	assert.Contains(t, cmd, "/srv/dswarm/tmp/x/seg.nut")
	assert.Contains(t, cmd, "/elsewhere/y", "other arguments untouched")
	assert.Equal(t, media.FFmpegArgs(nil), cmd[1:len(media.FFmpegArgs(nil))+1])
}

func TestExecutorFailureNamesExitCodeAndLogLine(t *testing.T) {
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
}

func TestExecutorRetryAvoidsFailedNode(t *testing.T) {
	f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateComplete, 0 })
	x := newExec(f)
	_, err := x.Place("j", []scheduler.Segment{{Count: 1}})
	require.NoError(t, err)
	res, err := x.Run(context.Background(), job.Task{JobID: "j", Name: "seg-000", Role: job.RoleSegment, Segment: 0, Attempt: 2, Avoid: []string{"node1"}})
	require.NoError(t, err)
	assert.Equal(t, "node2", res.Node, "the heaviest node that did not fail it")
	assert.Equal(t, "n2", constraintNode(f.created[0]))
	assert.Contains(t, f.created[0].TaskTemplate.Placement.Constraints, "node.platform.arch==aarch64")
}

func TestExecutorLostNode(t *testing.T) {
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
}

func TestExecutorCancelRemovesService(t *testing.T) {
	f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateRunning, 0 })
	x := newExec(f)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err := x.Run(ctx, job.Task{JobID: "j", Name: "audio", Role: job.RoleAudio, Segment: -1, Attempt: 1})
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, f.created, 1)
	assert.Empty(t, f.live, "removed although the job's context was cancelled")
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
	assert.Contains(t, got["node1"].Reason, "50% of the cluster's speed")
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

package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
)

// standbyFake runs standbys as the worker image does: a standby's task runs
// (doing nothing) until its gate file appears, then it is the task in the
// gate, timed from then.
type standbyFake struct {
	*fakeEngine
	fail     bool            // standbys fail at once (an image without `dswarm standby`)
	upAfter  time.Duration   // a standby's container is up this long after its creation
	stuck    bool            // standbys are never placed (Swarm keeps them pending)
	swapped  map[string]bool // standby services whose gate was read
	standbys []swarm.ServiceSpec
}

func (s *standbyFake) ServiceCreate(ctx context.Context, spec swarm.ServiceSpec, opts swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error) {
	if spec.Labels[LabelRole] == "standby" {
		s.mu.Lock()
		s.standbys = append(s.standbys, spec)
		s.mu.Unlock()
		if !s.fail && !s.stuck { // the container is up and waits
			cmd := spec.TaskTemplate.ContainerSpec.Command
			ready := readyFile(cmd[len(cmd)-1])
			if s.upAfter > 0 {
				time.AfterFunc(s.upAfter, func() { _ = os.WriteFile(ready, nil, 0o644) })
			} else if err := os.WriteFile(ready, nil, 0o644); err != nil {
				return swarm.ServiceCreateResponse{}, err
			}
		}
	}
	created, err := s.fakeEngine.ServiceCreate(ctx, spec, opts)
	if err == nil && spec.Labels[LabelRole] == "standby" && !s.fail && !s.stuck {
		// The container looks at its gate as soon as it is up.
		s.mu.Lock()
		_, err = s.swap(created.ID)
		s.mu.Unlock()
	}
	return created, err
}

// swap makes standby id the task in its gate, if the gate is there yet;
// s.mu is held.
func (s *standbyFake) swap(id string) (bool, error) {
	spec := s.live[id]
	cmd := spec.TaskTemplate.ContainerSpec.Command
	b, err := os.ReadFile(cmd[len(cmd)-1])
	if err != nil {
		return false, nil
	}
	var argv []string
	if err := json.Unmarshal(b, &argv); err != nil {
		return false, err
	}
	cs := *spec.TaskTemplate.ContainerSpec
	cs.Command = argv
	spec.TaskTemplate.ContainerSpec = &cs
	s.live[id] = spec
	s.created0[id] = time.Now()
	s.swapped[id] = true
	return true, nil
}

func (s *standbyFake) TaskList(ctx context.Context, opts swarm.TaskListOptions) ([]swarm.Task, error) {
	id := opts.Filters.Get("service")[0]
	s.mu.Lock()
	spec, ok := s.live[id]
	if ok && spec.Labels[LabelRole] == "standby" && s.stuck {
		s.mu.Unlock()
		return []swarm.Task{{ID: id + "-task", Status: swarm.TaskStatus{State: swarm.TaskStatePending, Err: "no suitable node (insufficient resources on 1 node)"}}}, nil
	}
	if ok && spec.Labels[LabelRole] == "standby" && !s.swapped[id] {
		swapped, err := s.swap(id)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		if s.fail || !swapped {
			s.mu.Unlock()
			state := swarm.TaskStateRunning
			if s.fail {
				state = swarm.TaskStateFailed
			}
			return []swarm.Task{{ID: id + "-task", Status: swarm.TaskStatus{State: state, ContainerStatus: &swarm.ContainerStatus{ExitCode: 1}}}}, nil
		}
	}
	s.mu.Unlock()
	return s.fakeEngine.TaskList(ctx, opts)
}

func standbyExec(t *testing.T) (*standbyFake, *Executor, string) {
	f, x, dir := speedExec(t, map[string]float64{"n1": 40, "n2": 40, "n3": 40}, 25, time.Second)
	sf := &standbyFake{fakeEngine: f, swapped: map[string]bool{}}
	x.Engine = sf
	x.ProgressEvery = 100 * time.Millisecond
	x.workDir = "work"
	require.NoError(t, os.Mkdir(filepath.Join(dir, "work"), 0o755))
	return sf, x, dir
}

// TestStandbyTakesOverTheNextTask: each node's next segment runs in a
// service started while its last one finished. Every segment is encoded
// once, fewer segment services are created than segments, the standbys
// reserve what a task does, and none is left.
func TestStandbyTakesOverTheNextTask(t *testing.T) {
	f, x, dir := standbyExec(t)
	x.partial = "out.partial"
	const n = 9
	_, err := x.Place("job1", segmentsOf(n, 25))
	require.NoError(t, err)
	runSegments(t, x, n, dir)
	// The merge takes the standby started as the last segment finished.
	res, err := x.Run(context.Background(), job.Task{JobID: "job1", Name: "merge", Role: job.RoleMerge, Segment: -1, Attempt: 1,
		Args: []string{"-i", "list", filepath.Join(dir, "out.partial")}})
	require.NoError(t, err)
	assert.Equal(t, "node1", res.Node, "the fastest node")
	assert.FileExists(t, filepath.Join(dir, "out.partial"))

	segServices := 0
	for _, s := range f.created {
		if s.Labels[LabelRole] == "segment" {
			segServices++
		}
		assert.NotEqual(t, "merge", s.Labels[LabelRole], "the merge ran in a standby")
	}
	claimed := len(f.swapped)
	t.Logf("%d segment services, %d standbys, %d taken over", segServices, len(f.standbys), claimed)
	assert.Positive(t, claimed, "a standby ran a segment")
	assert.Equal(t, n+1, segServices+claimed, "each segment ran once, and the merge")
	for i := 0; i < n; i++ {
		assert.FileExists(t, filepath.Join(dir, "seg-00"+string(rune('0'+i))+".nut"))
	}
	for _, s := range f.standbys {
		assert.Equal(t, []string{"dswarm", "standby"}, s.TaskTemplate.ContainerSpec.Command[:2])
		for _, c := range f.created {
			if c.Labels[LabelRole] == "segment" && constraintNode(c) == constraintNode(s) {
				assert.Equal(t, c.TaskTemplate.Resources, s.TaskTemplate.Resources, "a standby reserves what a task does")
				assert.Equal(t, c.TaskTemplate.ContainerSpec.Mounts, s.TaskTemplate.ContainerSpec.Mounts)
			}
		}
	}
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.live) == 0
	}, 5*time.Second, 50*time.Millisecond, "standbys nobody took are removed")
	gates, _ := filepath.Glob(filepath.Join(dir, "work", ".*"))
	assert.Empty(t, gates, "gate files removed")
}

// TestRestartedRunTakesNoOldGate: a scheduler restarted mid-job runs the
// job again in the same work folder, where the killed run left gate files
// and ready marks. Its standbys are its own: none runs an old command (which
// once ended a merge's standby before the merge wrote its gate, and left the
// output empty), and the job's segments and merge run as before.
func TestRestartedRunTakesNoOldGate(t *testing.T) {
	_, x, dir := standbyExec(t)
	x.partial = "out.partial"
	stale := filepath.Join(dir, "stale.nut")
	for i := 1; i <= 30; i++ {
		gate := filepath.Join(dir, "work", fmt.Sprintf(".standby-%d.gate", i))
		require.NoError(t, WriteGate(gate, []string{"ffmpeg", "-i", "old", stale}))
		require.NoError(t, os.WriteFile(readyFile(gate), nil, 0o644))
	}
	const n = 9
	_, err := x.Place("job1", segmentsOf(n, 25))
	require.NoError(t, err)
	runSegments(t, x, n, dir)
	_, err = x.Run(context.Background(), job.Task{JobID: "job1", Name: "merge", Role: job.RoleMerge, Segment: -1, Attempt: 1,
		Args: []string{"-i", "list", filepath.Join(dir, "out.partial")}})
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(dir, "out.partial"))
	assert.NoFileExists(t, stale, "an old run's gate was run")
}

// TestStandbyFailureTurnsThemOff: a standby that ends before any task took
// it (a worker image without `dswarm standby`) is removed, no more are made,
// and the job runs as before.
func TestStandbyFailureTurnsThemOff(t *testing.T) {
	f, x, dir := standbyExec(t)
	f.fail = true
	const n = 9
	_, err := x.Place("job1", segmentsOf(n, 25))
	require.NoError(t, err)
	runSegments(t, x, n, dir)
	assert.Empty(t, f.swapped)
	require.Eventually(t, func() bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		return x.standbyOff
	}, 5*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.live) == 0
	}, 5*time.Second, 50*time.Millisecond)
}

func TestGate(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "g")
	go func() {
		time.Sleep(30 * time.Millisecond)
		assert.NoError(t, WriteGate(gate, []string{"ffmpeg", "-i", "a b", "out.nut"}))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	argv, err := AwaitGate(ctx, gate, 5*time.Millisecond)
	require.NoError(t, err)
	assert.Equal(t, []string{"ffmpeg", "-i", "a b", "out.nut"}, argv)

	require.NoError(t, WriteGate(gate, []string{"sh", "-c", "true"}))
	_, err = AwaitGate(ctx, gate, time.Millisecond)
	assert.ErrorContains(t, err, "not an ffmpeg command")

	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	_, err = AwaitGate(short, filepath.Join(t.TempDir(), "never"), time.Millisecond)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestAudioRunsAlongside: the audio task takes no slot: it waits until
// every segment has been handed out, then starts while every node's slot is
// busy, on the node whose segment should end first, and reserves no CPU.
func TestAudioRunsAlongside(t *testing.T) {
	f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateComplete, 0 })
	x := newExec(f)
	// Node3's segment is the smallest: its slot frees first.
	segs := segmentsOf(3, 25)
	segs[2].Count = 5
	_, err := x.Place("j", segs)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type result struct {
		res job.TaskResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := x.Run(ctx, job.Task{JobID: "j", Name: "audio", Role: job.RoleAudio, Segment: -1, Attempt: 1, Args: []string{"-i", "in", "out.m4a"}})
		done <- result{res, err}
	}()
	time.Sleep(300 * time.Millisecond)
	f.mu.Lock()
	assert.Empty(t, f.created, "no audio service while segments are pending")
	f.mu.Unlock()

	x.mu.Lock()
	handed := x.d.Next(x.now())
	x.mu.Unlock()
	require.Len(t, handed, 3)
	var small int
	for _, a := range handed {
		if a.First == 2 {
			small = a.Node
		}
	}
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, x.Nodes[small].Hostname, r.res.Node)
	require.Len(t, f.created, 1)
	assert.Zero(t, f.created[0].TaskTemplate.Resources.Reservations.NanoCPUs)
	assert.Equal(t, int64(TaskMemory), f.created[0].TaskTemplate.Resources.Reservations.MemoryBytes)
	for i := range x.Nodes {
		assert.Equal(t, 1, x.d.Busy(i), "no slot taken or given back")
	}
}

// TestGatedTaskEndsOnItsExitFile: a new task's service runs its ffmpeg
// behind a gate of its own, and the task has ended well as soon as the
// gate's exit file says 0, though Swarm still reports it running (it does
// 0.3-0.4 s later). Any other status is not taken for an end: the task
// waits for Swarm's report, which names the cause. No gate file is left.
func TestGatedTaskEndsOnItsExitFile(t *testing.T) {
	for _, code := range []int{0, 3} {
		t.Run(fmt.Sprint("exit ", code), func(t *testing.T) {
			f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateRunning, 0 })
			x := newExec(f)
			dir := t.TempDir()
			x.HostRoot, x.NodeRoot, x.workDir = dir, dir, "work" // the fake reads the gate where the node would
			require.NoError(t, os.Mkdir(filepath.Join(dir, "work"), 0o755))
			x.Poll = time.Hour // Swarm's report of the end never comes
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			out := filepath.Join(dir, "work", "out.mkv")
			errc := make(chan error, 1)
			go func() {
				_, err := x.Run(ctx, job.Task{JobID: "j", Name: "merge", Role: job.RoleMerge, Segment: -1, Attempt: 1,
					Args: []string{"-i", "in.mp4", out}})
				errc <- err
			}()
			var gate string
			require.Eventually(t, func() bool {
				f.mu.Lock()
				defer f.mu.Unlock()
				for _, g := range f.gates {
					gate = g
				}
				return gate != ""
			}, time.Second, time.Millisecond)
			f.mu.Lock()
			spec := f.created[0]
			f.mu.Unlock()
			assert.Equal(t, filepath.Join(dir, "work"), filepath.Dir(gate), "the gate is in the job's work folder")
			argv := spec.TaskTemplate.ContainerSpec.Command
			assert.Equal(t, "ffmpeg", argv[0], "the gate holds the task's command")
			assert.Equal(t, out, argv[len(argv)-1], "the gate holds the task's command")

			require.NoError(t, WriteExit(gate, code))
			err := <-errc
			if code == 0 {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, context.DeadlineExceeded, "a failed command waits for Swarm's report")
			}
			assert.Empty(t, f.live, "the service is removed")
			left, _ := filepath.Glob(filepath.Join(dir, "work", ".*"))
			assert.Empty(t, left, "gate files left")
		})
	}
}

// TestWarmStandbysTakeTheFirstSegments: Warm starts a standby on every
// node before the job has planned anything (their services exist when it
// returns), and each node's first segment runs in one, also when the
// standby is still starting at the hand-out: it is waited for rather than
// a new service started beside it.
func TestWarmStandbysTakeTheFirstSegments(t *testing.T) {
	for _, c := range []struct {
		upAfter, startup time.Duration
	}{
		{0, time.Second},
		{300 * time.Millisecond, time.Second},
		// Placed by its node but up only after four start-ups: the node
		// sets its network up with a job's first container, and a new
		// service would wait behind that too.
		{400 * time.Millisecond, 100 * time.Millisecond},
	} {
		t.Run(fmt.Sprint("up after ", c.upAfter, ", start-up ", c.startup), func(t *testing.T) {
			f, x, dir := standbyExec(t)
			f.upAfter = c.upAfter
			x.Startup = c.startup // a new service would take this long
			for i := range x.Nodes {
				x.Nodes[i].Weight = 40 // one segment per node
			}
			x.Warm("job1")
			f.mu.Lock()
			warmed := len(f.standbys)
			f.mu.Unlock()
			require.Equal(t, 3, warmed, "a standby per node, made before Warm returns")
			_, err := x.Place("job1", segmentsOf(3, 25))
			require.NoError(t, err)
			nodes := runSegments(t, x, 3, dir)
			assert.ElementsMatch(t, []string{"node1", "node2", "node3"}, nodes)
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, s := range f.created {
				assert.NotEqual(t, "segment", s.Labels[LabelRole], "a segment started a service of its own: %s", s.Name)
			}
			assert.Len(t, f.swapped, 3, "each node's standby took its first segment")
		})
	}
}

// TestStuckStandbyGivesWay: a standby Swarm never places (no room on its
// node) is given up after two start-ups. The segment starts a service of
// its own, and the standby's service is removed before it ends: placed
// later, it would hold the share of the node that the merge's service
// needs there (a merge kept pending for 120 s on the test swarm, where a
// warm standby the first segment had not waited for was left idle).
func TestStuckStandbyGivesWay(t *testing.T) {
	f, x, dir := standbyExec(t)
	f.stuck = true
	x.Startup = 100 * time.Millisecond
	x.partial = "out.partial"
	x.Warm("job1")
	_, err := x.Place("job1", segmentsOf(3, 25))
	require.NoError(t, err)
	runSegments(t, x, 3, dir)
	f.mu.Lock()
	require.GreaterOrEqual(t, len(f.standbys), 3, "a warm standby per node")
	for _, s := range f.standbys[:3] {
		for _, l := range f.live {
			assert.NotEqual(t, s.Name, l.Name, "the segments gave the stuck warm standby up and removed it")
		}
	}
	f.mu.Unlock()
	_, err = x.Run(context.Background(), job.Task{JobID: "job1", Name: "merge", Role: job.RoleMerge, Segment: -1, Attempt: 1,
		Args: []string{"-i", "list", filepath.Join(dir, "out.partial")}})
	require.NoError(t, err)
	require.NoError(t, RemoveJob(context.Background(), f, "job1"))
}

// TestWarmStandbyEndsWithItsJob: a standby Warm made for a job that ends
// before placing anything (its input failed the probe) ends once RemoveJob
// has removed its service.
func TestWarmStandbyEndsWithItsJob(t *testing.T) {
	f, x, _ := standbyExec(t)
	x.Warm("job1")
	f.mu.Lock()
	ids := make([]string, 0, len(f.live))
	for id := range f.live {
		ids = append(ids, id)
	}
	f.mu.Unlock()
	require.Len(t, ids, 3)
	for _, id := range ids {
		require.NoError(t, f.ServiceRemove(context.Background(), id))
	}
	require.Eventually(t, func() bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		for _, s := range x.standbys {
			if !s.gone {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "the standbys' watchers saw their services go")
}

// TestIdleSegmentStandbyGoesWhenNoneIsLeft: once every segment has been
// handed out, a segment standby nobody took goes, though its node's slot
// is still busy; the merge's standby on that node stays for the merge.
func TestIdleSegmentStandbyGoesWhenNoneIsLeft(t *testing.T) {
	f, x, _ := standbyExec(t)
	x.partial = "out.partial"
	_, err := x.Place("job1", segmentsOf(2, 25))
	require.NoError(t, err)
	x.mu.Lock()
	handed := x.d.Next(x.now())
	pending := x.d.Pending()
	x.mu.Unlock()
	require.NotEmpty(t, handed)
	require.Zero(t, pending)
	ni := handed[0].Node
	x.mu.Lock()
	x.jobID = "job1"
	seg, merge := x.newStandby(ni, false), x.newStandby(ni, true)
	x.mu.Unlock()
	go x.runStandby(seg)
	go x.runStandby(merge)
	gone := func(s *standby) bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		return s.gone
	}
	require.Eventually(t, func() bool { return gone(seg) }, 5*time.Second, 50*time.Millisecond,
		"the idle segment standby went while its node was busy")
	assert.False(t, gone(merge), "the merge's standby stays while the node's segment runs")
	assert.Equal(t, 1, x.d.Busy(ni))
	require.NoError(t, RemoveJob(context.Background(), f, "job1"))
}

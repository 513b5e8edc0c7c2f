package stack

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/scheduler"
)

func TestHolderSpec(t *testing.T) {
	n := testNodes()[1]
	spec := holderSpec("img", TaskUser, n)
	assert.Equal(t, "dswarm-holder-n2", spec.Name)
	assert.Equal(t, map[string]string{LabelRole: RoleHolder, LabelNode: "n2"}, spec.Labels,
		"no job's label: RemoveJob and the clean-up checks leave it")
	c := spec.TaskTemplate.ContainerSpec
	assert.Equal(t, spec.Labels, c.Labels)
	assert.Equal(t, []string{"sleep", "infinity"}, c.Command)
	assert.Equal(t, "SIGKILL", c.StopSignal)
	assert.True(t, c.ReadOnly)
	assert.Equal(t, []string{"ALL"}, c.CapabilityDrop)
	assert.Equal(t, TaskUser, c.User)
	assert.Len(t, c.Mounts, 1, "only the scratch tmpfs: none of the storage")
	assert.Equal(t, []swarm.NetworkAttachmentConfig{{Target: IsolatedNetwork}}, spec.TaskTemplate.Networks)
	assert.Nil(t, spec.TaskTemplate.Resources, "it reserves nothing: it takes no task's place")
	assert.ElementsMatch(t, []string{"node.id==n2", "node.platform.arch==aarch64"}, spec.TaskTemplate.Placement.Constraints)
	assert.Equal(t, swarm.RestartPolicyConditionAny, spec.TaskTemplate.RestartPolicy.Condition, "back after its node restarts")
	require.NotNil(t, spec.TaskTemplate.RestartPolicy.Delay)
	assert.Positive(t, *spec.TaskTemplate.RestartPolicy.Delay)
}

// holders are the live holder services of f, by name.
func holders(f *fakeEngine) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.live {
		if s.Labels[LabelRole] == RoleHolder {
			out = append(out, s.Name)
		}
	}
	sort.Strings(out)
	return out
}

// TestHoldersOutliveJobs: a job makes one holder per node before its
// segments run, whether it warms standbys or not; RemoveJob leaves them;
// the next job makes only the one a node lacks, and removes the holder of
// a node that left the swarm; an executor not asked to makes none.
func TestHoldersOutliveJobs(t *testing.T) {
	all := []string{"dswarm-holder-n1", "dswarm-holder-n2", "dswarm-holder-n3"}
	created := func(f *fakeEngine) int {
		f.mu.Lock()
		defer f.mu.Unlock()
		n := 0
		for _, s := range f.created {
			if s.Labels[LabelRole] == RoleHolder {
				n++
			}
		}
		return n
	}

	f, x, dir := standbyExec(t)
	x.HoldNetwork = true
	x.Warm("job1")
	assert.Equal(t, all, holders(f.fakeEngine), "made with the warm standbys, before the probe")
	_, err := x.Place("job1", segmentsOf(3, 25))
	require.NoError(t, err)
	runSegments(t, x, 3, dir)
	require.NoError(t, RemoveJob(context.Background(), f, "job1"))
	assert.Equal(t, all, holders(f.fakeEngine), "RemoveJob leaves them")
	assert.Len(t, f.live, 3, "and nothing else")
	assert.Equal(t, 3, created(f.fakeEngine), "once each")

	// Someone removed node2's, and a node that has left the swarm since
	// has one; the next job, without standbys, makes node2's again and
	// removes the other.
	require.NoError(t, f.ServiceRemove(context.Background(), "dswarm-holder-n2-id"))
	_, err = f.ServiceCreate(context.Background(), holderSpec("img", TaskUser, scheduler.Node{ID: "gone"}), swarm.ServiceCreateOptions{})
	require.NoError(t, err)
	y := newExec(f.fakeEngine)
	y.Startup = time.Millisecond
	y.HostRoot, y.NodeRoot = dir, dir
	y.HoldNetwork = true
	_, err = y.Place("job2", segmentsOf(2, 25))
	require.NoError(t, err)
	assert.Equal(t, all, holders(f.fakeEngine))
	assert.Equal(t, 5, created(f.fakeEngine), "only node2's is new (and the test's own)")
	runSegmentsOf(t, y, "job2", 2, dir)
	require.NoError(t, RemoveJob(context.Background(), f, "job2"))

	g, z, _ := standbyExec(t)
	z.Warm("job3")
	_, err = z.Place("job3", segmentsOf(1, 25))
	require.NoError(t, err)
	assert.Empty(t, holders(g.fakeEngine), "not asked to")
	require.NoError(t, RemoveJob(context.Background(), g, "job3"))
}

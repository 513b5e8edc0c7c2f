package stack

import (
	"context"
	"sort"
	"testing"
	"testing/synctest"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/scheduler"
)

func TestKeeperSpec(t *testing.T) {
	n := testNodes()[1]
	spec := keeperSpec("j", "img", TaskUser, 1, n, 2)
	assert.Equal(t, "dswarm-j-keep-1-a2", spec.Name)
	assert.Equal(t, map[string]string{LabelJob: "j", LabelRole: RoleKeeper, LabelAttempt: "2"}, spec.Labels,
		"the job's label, so RemoveJob removes it; no segment's, so Adopt removes one of an earlier run")
	c := spec.TaskTemplate.ContainerSpec
	assert.Equal(t, []string{"sleep", "900"}, c.Command, "it ends on its own after keeperLife")
	assert.Equal(t, "SIGKILL", c.StopSignal)
	assert.True(t, c.ReadOnly)
	assert.Equal(t, []string{"ALL"}, c.CapabilityDrop)
	assert.Equal(t, TaskUser, c.User)
	assert.Len(t, c.Mounts, 1, "only the scratch tmpfs: none of the storage")
	assert.Equal(t, []swarm.NetworkAttachmentConfig{{Target: IsolatedNetwork}}, spec.TaskTemplate.Networks)
	assert.Nil(t, spec.TaskTemplate.Resources, "it reserves nothing: it takes no task's place")
	assert.ElementsMatch(t, []string{"node.id==n2", "node.platform.arch==aarch64"}, spec.TaskTemplate.Placement.Constraints)
	assert.Equal(t, swarm.RestartPolicyConditionNone, spec.TaskTemplate.RestartPolicy.Condition)
}

// keepers are the live keeper services of f, by name.
func keepers(f *fakeEngine) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.live {
		if s.Labels[LabelRole] == RoleKeeper {
			out = append(out, s.Name)
		}
	}
	sort.Strings(out)
	return out
}

// TestKeepers: a job's first task starts one keeper per node, once; each
// is renewed before it ends; RemoveJob ends them, and none comes back.
func TestKeepers(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f, x, dir := speedExec(t, map[string]float64{"n1": 40, "n2": 40, "n3": 40}, 25, 50*time.Millisecond)
		x.KeepNetwork = true
		x.KeeperRenew = time.Minute
		atFirstTask := -1 // keepers live when the first task's service is made
		f.onCreate = func(live map[string]swarm.ServiceSpec) {
			n, task := 0, false
			for _, s := range live {
				if s.Labels[LabelRole] == RoleKeeper {
					n++
				} else {
					task = true
				}
			}
			if task && atFirstTask < 0 {
				atFirstTask = n
			}
		}
		segs := []scheduler.Segment{{Index: 0, Count: 25}, {Index: 1, Count: 25}, {Index: 2, Count: 25}, {Index: 3, Count: 25}}
		_, err := x.Place("j", segs)
		require.NoError(t, err)
		assert.Empty(t, keepers(f), "none before the first task (Adopt would remove them)")
		runSegmentsOf(t, x, "j", len(segs), dir)
		synctest.Wait()
		assert.Equal(t, []string{"dswarm-j-keep-0-a1", "dswarm-j-keep-1-a1", "dswarm-j-keep-2-a1"}, keepers(f), "one per node, for all four tasks")
		assert.Equal(t, 3, atFirstTask, "made before the first task, so the job cannot end before they exist")

		time.Sleep(90 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"dswarm-j-keep-0-a2", "dswarm-j-keep-1-a2", "dswarm-j-keep-2-a2"}, keepers(f), "renewed, the old ones removed")

		require.NoError(t, RemoveJob(context.Background(), f, "j"))
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		assert.Empty(t, keepers(f))
		assert.Empty(t, f.live, "nothing left")
	})
}

// A job without KeepNetwork starts none (unit tests of other behaviour,
// and executors that are not a placed job's).
func TestNoKeepersUnasked(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f, x, _ := speedExec(t, map[string]float64{"n1": 40, "n2": 40, "n3": 40}, 25, 50*time.Millisecond)
		_, err := x.Place("j", []scheduler.Segment{{Index: 0, Count: 25}})
		require.NoError(t, err)
		x.keepNetwork("j")
		x.KeepNetwork = true
		x.d = nil
		x.keepNetwork("j")
		synctest.Wait()
		assert.Empty(t, keepers(f))
	})
}

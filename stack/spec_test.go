package stack

import (
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/scheduler"
)

func TestServiceSpec(t *testing.T) {
	m := mount.Mount{Type: mount.TypeBind, Source: "/srv/dswarm", Target: "/srv/dswarm"}
	spec := ServiceSpec(TaskSpec{
		JobID: "1a2b3c4d", Name: "seg-007", Role: "segment", Segment: 7, Attempt: 2,
		Image: "dswarm/worker:latest", Command: []string{"ffmpeg", "-i", "x"},
		NodeID: "node-abc", NodeArch: "aarch64", Mounts: []mount.Mount{m}, User: TaskUser,
		NanoCPUs: 2e9, MemoryBytes: 256 << 20,
	})
	assert.Equal(t, "dswarm-1a2b3c4d-seg-007-a2", spec.Name)
	want := map[string]string{LabelJob: "1a2b3c4d", LabelRole: "segment", LabelSegment: "7", LabelAttempt: "2"}
	assert.Equal(t, want, spec.Labels)
	assert.Equal(t, want, spec.TaskTemplate.ContainerSpec.Labels, "the containers carry the labels too")

	require.NotNil(t, spec.Mode.Replicated, "one replica; not a replicated job, whose containers outlive the service (moby/moby#42789)")
	assert.Nil(t, spec.Mode.ReplicatedJob)
	assert.Equal(t, uint64(1), *spec.Mode.Replicated.Replicas)
	assert.Equal(t, swarm.RestartPolicyConditionNone, spec.TaskTemplate.RestartPolicy.Condition, "retries are dswarm's")

	assert.Equal(t, []string{"node.id==node-abc", "node.platform.arch==aarch64"}, spec.TaskTemplate.Placement.Constraints)
	assert.Equal(t, "dswarm/worker:latest", spec.TaskTemplate.ContainerSpec.Image)
	assert.Equal(t, []string{"ffmpeg", "-i", "x"}, spec.TaskTemplate.ContainerSpec.Command)
	assert.Equal(t, []mount.Mount{m, scratchMount}, spec.TaskTemplate.ContainerSpec.Mounts)
	require.NotNil(t, spec.TaskTemplate.Resources)
	assert.Equal(t, &swarm.Resources{NanoCPUs: 2e9, MemoryBytes: 256 << 20}, spec.TaskTemplate.Resources.Reservations)
}

func TestServiceSpecLeastPrivilege(t *testing.T) {
	spec := ServiceSpec(TaskSpec{JobID: "j", Name: "merge", Role: "merge", Segment: -1, Attempt: 1, User: "65534:65534"})
	c := spec.TaskTemplate.ContainerSpec
	assert.Equal(t, []swarm.NetworkAttachmentConfig{{Target: IsolatedNetwork}}, spec.TaskTemplate.Networks,
		"no networks at all would mean the node's default bridge")
	opts := isolatedNetworkOptions()
	assert.True(t, opts.Internal, "no route out of the overlay")
	assert.Equal(t, "overlay", opts.Driver)
	assert.False(t, opts.Attachable, "no ordinary container joins it")
	assert.True(t, c.ReadOnly, "read-only root filesystem")
	assert.Equal(t, []string{"ALL"}, c.CapabilityDrop)
	assert.Empty(t, c.CapabilityAdd)
	assert.Equal(t, "65534:65534", c.User)
	assert.Nil(t, c.Privileges)
	require.Len(t, c.Mounts, 1)
	tmp := c.Mounts[0]
	assert.Equal(t, mount.TypeTmpfs, tmp.Type)
	assert.Equal(t, "/tmp", tmp.Target)
	assert.Equal(t, int64(64<<20), tmp.TmpfsOptions.SizeBytes, "bounded: it is the node's memory")
}

func TestServiceSpecWithoutSegmentOrReservation(t *testing.T) {
	spec := ServiceSpec(TaskSpec{JobID: "j", Name: "merge", Role: "merge", Segment: -1, Attempt: 1})
	assert.NotContains(t, spec.Labels, LabelSegment)
	assert.Nil(t, spec.TaskTemplate.Resources)
	assert.Empty(t, spec.TaskTemplate.Placement.Constraints)
}

func TestReserve(t *testing.T) {
	n := scheduler.Node{CPUs: 4, Slots: 2, Memory: 8 << 30}
	r := TaskSpec{}.reserve("", n)
	assert.Equal(t, int64(1e9), r.NanoCPUs, "the node's CPUs shared by its slots and one standby each")
	// Swarm fits each slot's task and a standby, and not one more.
	for _, cpus := range []float64{1, 2, 3, 0.75} {
		for slots := 1; slots <= 3; slots++ {
			r := TaskSpec{}.reserve("", scheduler.Node{CPUs: cpus, Slots: slots})
			assert.LessOrEqual(t, r.NanoCPUs*int64(2*slots), int64(cpus*1e9), "%g CPUs, %d slots: tasks and standbys fit", cpus, slots)
			assert.Greater(t, r.NanoCPUs*int64(2*slots+1), int64(cpus*1e9), "%g CPUs, %d slots: no more", cpus, slots)
		}
	}
	assert.Equal(t, int64(TaskMemory), r.MemoryBytes)
	assert.Equal(t, TaskSpec{}, TaskSpec{}.reserve("dswarm", n), "checks reserve nothing")
	small := TaskSpec{}.reserve("", scheduler.Node{CPUs: 1, Slots: 1, Memory: 128 << 20})
	assert.Zero(t, small.MemoryBytes, "no memory reservation a node could never meet")
}

func TestNodeOf(t *testing.T) {
	var n swarm.Node
	n.ID = "id1"
	n.Description.Hostname = "pi-2"
	n.Description.Platform.Architecture = "armv7l"
	n.Description.Resources.NanoCPUs = 4e9
	n.Description.Resources.MemoryBytes = 1 << 30
	n.Status.State = swarm.NodeStateReady
	n.Spec.Availability = swarm.NodeAvailabilityDrain
	got := NodeOf(n)
	assert.Equal(t, scheduler.Node{ID: "id1", Hostname: "pi-2", Arch: "armv7l", State: "ready", Availability: "drain",
		CPUs: 4, Memory: 1 << 30, Weight: 4, Slots: 1, HasImage: true}, got, "weight from the CPU count without a label")

	n.Spec.Labels = map[string]string{LabelWeight: "36", LabelSlots: "3"}
	got = NodeOf(n)
	assert.Equal(t, 36.0, got.Weight)
	assert.True(t, got.WeightLabelled)
	assert.Equal(t, 3, got.Slots)

	n.Spec.Labels = map[string]string{LabelWeight: "fast", LabelSlots: "-1"}
	got = NodeOf(n)
	assert.Equal(t, 4.0, got.Weight, "a bad label falls back to the CPU count")
	assert.Equal(t, 1, got.Slots)
}

// Paths on the shared storage are given to tasks as the nodes see them,
// also inside an option's value (x265's stats file), and nowhere else.
func TestRewritePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/host/st/tmp/seg.nut", "/srv/st/tmp/seg.nut"},
		{"/host/st", "/srv/st"},
		{"pass=2:stats=/host/st/tmp/seg-00001.pass.log", "pass=2:stats=/srv/st/tmp/seg-00001.pass.log"},
		{"log-level=error:stats=/host/st/a:pass=1", "log-level=error:stats=/srv/st/a:pass=1"},
		{"/host/stuff/x", "/host/stuff/x"},
		{"title=see /host/st", "title=see /host/st"},
		{"/other/host/st/x", "/other/host/st/x"},
	} {
		assert.Equal(t, tc.want, rewritePath(tc.in, "/host/st", "/srv/st"), tc.in)
	}
}

package stack

import (
	"fmt"
	"strconv"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"

	"github.com/dswarm/dswarm/scheduler"
)

// Labels dswarm puts on its services, so that `docker service ls` and the
// Swarm visualizer show what runs where, and so that a job's services can
// all be found and removed.
const (
	LabelJob     = "dswarm.job"
	LabelRole    = "dswarm.role"
	LabelSegment = "dswarm.segment"
	LabelAttempt = "dswarm.attempt"
	// LabelWeight is the node label with the node's relative speed.
	LabelWeight = "dswarm.weight"
	// LabelSlots is the node label with how many tasks it runs at once.
	LabelSlots = "dswarm.slots"
)

// TaskSpec is one one-shot task: a command in the worker image, pinned to a
// node, with the shared storage mounted.
type TaskSpec struct {
	JobID    string
	Name     string // "seg-007", "audio", "merge", "storage-check"
	Role     string
	Segment  int // -1 for tasks that are not segments
	Attempt  int
	Image    string
	Command  []string
	NodeID   string
	NodeArch string // uname name; becomes a node.platform.arch constraint
	// Platforms is the image's platform on that node (ImagePlatforms), so
	// that Swarm itself refuses a node of another architecture.
	Platforms []swarm.Platform
	Mounts    []mount.Mount
	// User is the uid:gid the task runs as (see TaskUser); "" is the
	// image's user, root.
	User string
	// Reservations make Swarm itself refuse to overcommit a node.
	NanoCPUs    int64
	MemoryBytes int64
}

// TaskUser is the uid:gid tasks run as when dswarm runs as root: the
// "nobody" of Debian and the anonymous uid an NFS server maps root to
// (root_squash), so files on a squashed export are owned alike whether the
// scheduler or a task wrote them. A non-root dswarm runs tasks as itself.
const TaskUser = "65534:65534"

// scratchMount is the only writable place outside the job's files: a small
// tmpfs at /tmp, for libraries that want a temporary file.
var scratchMount = mount.Mount{
	Type:         mount.TypeTmpfs,
	Target:       "/tmp",
	TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20, Mode: 0o1777},
}

// ServiceName is the readable name of a task's service, unique per attempt:
// "dswarm-1a2b3c4d-seg-007-a2".
func ServiceName(jobID, name string, attempt int) string {
	return fmt.Sprintf("dswarm-%s-%s-a%d", jobID, name, attempt)
}

// ServiceSpec builds the one-shot service for t: one replica, run once,
// never restarted by Swarm (retries are dswarm's, on another node).
func ServiceSpec(t TaskSpec) swarm.ServiceSpec {
	one := uint64(1)
	labels := map[string]string{
		LabelJob:     t.JobID,
		LabelRole:    t.Role,
		LabelAttempt: strconv.Itoa(t.Attempt),
	}
	if t.Segment >= 0 {
		labels[LabelSegment] = strconv.Itoa(t.Segment)
	}
	var constraints []string
	if t.NodeID != "" {
		constraints = append(constraints, "node.id=="+t.NodeID)
	}
	if t.NodeArch != "" {
		constraints = append(constraints, "node.platform.arch=="+t.NodeArch)
	}
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: ServiceName(t.JobID, t.Name, t.Attempt), Labels: labels},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{
				Image:   t.Image,
				Command: t.Command,
				Labels:  labels,
				Mounts:  append(append([]mount.Mount(nil), t.Mounts...), scratchMount),
				User:    t.User,
				// Least privilege, so that a task's ffmpeg that a parser bug
				// let write or read anywhere finds nothing to reach: no
				// network, nothing writable but the job's own files (the
				// mounts), no capabilities (an in-container root could still
				// chown or bypass file modes with them).
				ReadOnly:       true,
				CapabilityDrop: []string{"ALL"},
			},
			// See IsolatedNetwork: no route out. A service with no networks
			// at all is not isolated: its container joins the node's default
			// bridge, from where it reaches the LAN and the internet.
			Networks:      []swarm.NetworkAttachmentConfig{{Target: IsolatedNetwork}},
			RestartPolicy: &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionNone},
			Placement:     &swarm.Placement{Constraints: constraints, Platforms: t.Platforms},
		},
		// One replica that is never restarted runs once, as a replicated job
		// would; but unlike a job (Docker 20.10, moby/moby#42789, swarmkit's
		// jobs orchestrator ignores service deletion), its task is marked
		// for removal when the service is removed, so the node deletes the
		// exited container instead of keeping it for good.
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &one}},
	}
	if t.NanoCPUs > 0 || t.MemoryBytes > 0 {
		spec.TaskTemplate.Resources = &swarm.ResourceRequirements{
			Reservations: &swarm.Resources{NanoCPUs: t.NanoCPUs, MemoryBytes: t.MemoryBytes},
		}
	}
	return spec
}

// TaskMemory is what an ffmpeg task reserves: enough for 1080p x264; Swarm
// keeps a task pending rather than start it on a node without it.
const TaskMemory = 256 << 20

// reserve sets an ffmpeg task's reservations to half the node's CPUs
// divided by its slots, so that Swarm itself refuses to put more on a node
// than dswarm planned: each slot's task and one standby (a service started
// while that task finishes, which runs nothing until the task ends; see
// standby) fit, a third does not. The quick checks that run dswarm itself
// reserve nothing.
func (t TaskSpec) reserve(program string, n scheduler.Node) TaskSpec {
	if program != "" && program != "ffmpeg" {
		return t
	}
	window := 2 * int64(max(n.Slots, 1))
	if n.CPUs > 0 {
		t.NanoCPUs = int64(n.CPUs*1e9) / window
	}
	if n.Memory <= 0 || n.Memory >= TaskMemory*window {
		t.MemoryBytes = TaskMemory
	}
	return t
}

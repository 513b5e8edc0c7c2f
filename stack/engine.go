package stack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	units "github.com/docker/go-units"

	"github.com/dswarm/dswarm/scheduler"
)

// MinAPIVersion is the engine API whose services take CapabilityDrop (tasks
// run with no capabilities); an older engine would silently ignore it.
const MinAPIVersion = "1.41"

// ErrNotManager is returned when the engine is not a swarm manager.
var ErrNotManager = errors.New("this Docker engine is not a swarm manager")

// Engine is the narrow part of the Docker API dswarm uses; *client.Client
// implements it, and unit tests fake it.
type Engine interface {
	NodeList(ctx context.Context, options swarm.NodeListOptions) ([]swarm.Node, error)
	NodeUpdate(ctx context.Context, nodeID string, version swarm.Version, node swarm.NodeSpec) error
	ServiceCreate(ctx context.Context, service swarm.ServiceSpec, options swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error)
	ServiceList(ctx context.Context, options swarm.ServiceListOptions) ([]swarm.Service, error)
	ServiceRemove(ctx context.Context, serviceID string) error
	TaskList(ctx context.Context, options swarm.TaskListOptions) ([]swarm.Task, error)
	TaskLogs(ctx context.Context, taskID string, options container.LogsOptions) (io.ReadCloser, error)
	NetworkList(ctx context.Context, options network.ListOptions) ([]network.Summary, error)
	NetworkCreate(ctx context.Context, name string, options network.CreateOptions) (network.CreateResponse, error)
}

// Conn is an open connection to a swarm manager.
type Conn interface {
	Engine
	Close() error
}

// Connect opens the engine named by the environment (DOCKER_HOST, ...),
// negotiates the API version and checks that it is a swarm manager with
// job services.
func Connect(ctx context.Context) (Conn, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	info, err := cli.Info(ctx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s: %w", cli.DaemonHost(), err)
	}
	if v := cli.ClientVersion(); versions.LessThan(v, MinAPIVersion) {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s speaks API %s; dswarm needs %s or newer (tasks without capabilities)", cli.DaemonHost(), v, MinAPIVersion)
	}
	if info.Swarm.LocalNodeState != swarm.LocalNodeStateActive || !info.Swarm.ControlAvailable {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s (swarm state %q): %w; run dswarm on a manager, or `docker swarm init`", cli.DaemonHost(), info.Swarm.LocalNodeState, ErrNotManager)
	}
	return cli, nil
}

// Nodes lists the swarm's nodes in the planner's terms. Weight comes from
// the dswarm.weight label, else the CPU count; slots from dswarm.slots,
// else 1 (an ffmpeg task uses every core it is given).
func Nodes(ctx context.Context, e Engine) ([]scheduler.Node, error) {
	list, err := e.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]scheduler.Node, 0, len(list))
	for _, n := range list {
		out = append(out, NodeOf(n))
	}
	return out, nil
}

// NodeOf converts a swarm node; pure.
func NodeOf(n swarm.Node) scheduler.Node {
	cpus := float64(n.Description.Resources.NanoCPUs) / 1e9
	node := scheduler.Node{
		ID:           n.ID,
		Hostname:     n.Description.Hostname,
		Arch:         n.Description.Platform.Architecture,
		State:        string(n.Status.State),
		Availability: string(n.Spec.Availability),
		CPUs:         cpus,
		Memory:       n.Description.Resources.MemoryBytes,
		Weight:       cpus,
		Slots:        1,
		HasImage:     true, // until a check says otherwise
	}
	if w, err := strconv.ParseFloat(n.Spec.Labels[LabelWeight], 64); err == nil && w > 0 {
		node.Weight, node.WeightLabelled = w, true
	}
	if s, err := strconv.Atoi(n.Spec.Labels[LabelSlots]); err == nil && s > 0 {
		node.Slots = s
	}
	return node
}

// FormatMemory prints bytes as the docker CLI does ("7.8GiB").
func FormatMemory(b int64) string { return units.BytesSize(float64(b)) }

// JobServices lists the services of a job (every job when jobID is "").
func JobServices(ctx context.Context, e Engine, jobID string) ([]swarm.Service, error) {
	label := LabelJob
	if jobID != "" {
		label += "=" + jobID
	}
	return e.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", label))})
}

// RemoveJob removes every service of a job; it is what guarantees that no
// service outlives its job, whatever happened to it.
func RemoveJob(ctx context.Context, e Engine, jobID string) error {
	svcs, err := JobServices(ctx, e, jobID)
	if err != nil {
		return fmt.Errorf("list services of job %s: %w", jobID, err)
	}
	var errs []error
	for _, s := range svcs {
		if err := e.ServiceRemove(ctx, s.ID); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove service %s: %w", s.Spec.Name, err))
		}
	}
	return errors.Join(errs...)
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "not found")
}

// taskLogs returns the lines of the last n log lines a task printed, split
// into stdout (ffmpeg's -progress reports, dswarm's answers) and stderr
// (ffmpeg's errors).
func taskLogs(ctx context.Context, e Engine, taskID string, n int) (stdout, stderr []string) {
	return readLogs(ctx, e, taskID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
}

// readLogs reads a task's logs as opts asks, split into stdout and stderr
// lines; nil for both when they cannot be read.
func readLogs(ctx context.Context, e Engine, taskID string, opts container.LogsOptions) (stdout, stderr []string) {
	rc, err := e.TaskLogs(ctx, taskID, opts)
	if err != nil {
		return nil, nil
	}
	defer rc.Close()
	var out, errb bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &errb, rc); err != nil {
		return nil, nil
	}
	return lines(&out), lines(&errb)
}

// reportClock reads a finished task's -progress reports with the times
// its node's log driver stamped on them: the frames done and the seconds
// between its first and last report. ffmpeg prints no clock of its own
// under a second (fps=0) or with -copyts before its second report; the
// node's stamps time the encode without the container's start-up.
func reportClock(ctx context.Context, e Engine, taskID string) (frames int64, seconds float64, ok bool) {
	stamped, _ := readLogs(ctx, e, taskID, container.LogsOptions{ShowStdout: true, Timestamps: true, Tail: "200"})
	return clockOf(stamped)
}

// clockOf is reportClock's reading of timestamped -progress lines.
func clockOf(stamped []string) (frames int64, seconds float64, ok bool) {
	var frame, first int64
	var t0, t1 time.Time
	for _, l := range stamped {
		stamp, kv, found := strings.Cut(l, " ")
		if !found {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "frame":
			frame, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		case "progress":
			if t0.IsZero() {
				t0, first = at, frame
			}
			t1 = at
			frames = frame - first
		}
	}
	seconds = t1.Sub(t0).Seconds()
	return frames, seconds, frames > 0 && seconds > 0
}

func lines(b *bytes.Buffer) []string {
	var out []string
	sc := bufio.NewScanner(b)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// SetNodeLabel sets one label on a node, keeping its other settings.
func SetNodeLabel(ctx context.Context, e Engine, nodeID, key, value string) error {
	nodes, err := e.NodeList(ctx, swarm.NodeListOptions{Filters: filters.NewArgs(filters.Arg("id", nodeID))})
	if err != nil {
		return fmt.Errorf("node %s: %w", nodeID, err)
	}
	for _, n := range nodes {
		if n.ID != nodeID {
			continue
		}
		spec := n.Spec
		labels := map[string]string{}
		for k, v := range spec.Labels {
			labels[k] = v
		}
		labels[key] = value
		spec.Labels = labels
		if err := e.NodeUpdate(ctx, n.ID, n.Version, spec); err != nil {
			return fmt.Errorf("label node %s: %w", n.Description.Hostname, err)
		}
		return nil
	}
	return fmt.Errorf("node %s: not found", nodeID)
}

package stack

// Which worker image each node holds, and of which platform.
//
// Only a node's own engine knows what it holds under an image's name, and a
// swarm manager cannot call the other nodes' engines. So dswarm asks each
// node with a one-shot probe service, pinned there, that runs
// `dswarm images inspect REF` from the worker image itself with the node's
// Docker socket mounted: the engine's own image ID and declared platform,
// not a guess from `uname` (which under binfmt emulation answers the
// image's architecture, not the node's). A node without the image rejects
// the probe ("No such image"), which is the answer too; an image of
// another architecture on a node without emulation fails to start ("exec
// format error"). The socket gives the probe the node's engine: it runs
// only dswarm's fixed command, with no capabilities, a read-only root and
// the isolated network, and nothing of a user's job reaches it.
//
// The answer is kept in a node label dswarm owns, dswarm.image ("REF ID
// PLATFORM TIME"): visible in `docker node inspect`, shared by every
// manager and every dswarm process, and read with the node list a job
// makes anyway. A job trusts a label that names its image and is younger
// than its limit, and probes the other nodes (all at once, about 2 s);
// `dswarm nodes` and `dswarm images distribute` always probe. A node whose
// image was found missing is probed again by the next job (it may have
// been loaded since). The manager cannot see a node's image change without
// a probe, hence the age limit; a task on a node that lost its image fails
// and is retried elsewhere, as before.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/dswarm/dswarm/scheduler"
)

// LabelImage is the node label with the worker image a probe found there.
const LabelImage = "dswarm.image"

// NodeDockerSocket is where a node's engine listens; probes and loaders
// mount it.
const NodeDockerSocket = "/var/run/docker.sock"

// ImageMaxAge is how long a job trusts a node's dswarm.image label.
const ImageMaxAge = 15 * time.Minute

// ImagePlatforms is the image's platform for a task's placement, so that
// Swarm itself refuses a node of another architecture; none when nobody
// checked the image. The architecture is written as the node reports it
// (x86_64, aarch64, armv7l): Swarm compares it with the node's own after
// mapping only x86_64 and aarch64 to Go's names, so "arm" would match no
// armv7l node.
func ImagePlatforms(img scheduler.NodeImage) []swarm.Platform {
	arch := scheduler.UnameArch(img.Arch, img.Variant)
	if !img.Checked || !img.Present || img.Err != "" || arch == "" {
		return nil
	}
	os := img.OS
	if os == "" {
		os = "linux"
	}
	return []swarm.Platform{{OS: os, Architecture: arch}}
}

// FormatImageLabel is the dswarm.image label for what a probe found at
// time at: "dswarm/worker:latest sha256:... linux/arm64/v8 2026-11-23T22:00:00Z",
// or with "missing" for the ID and "-" for the platform.
func FormatImageLabel(img scheduler.NodeImage, at time.Time) string {
	id, platform := img.ID, img.Platform()
	switch {
	case !img.Present:
		id, platform = "missing", "-"
	case img.Err != "":
		id, platform = "broken", "-"
	}
	if id == "" {
		id = "-"
	}
	return strings.Join([]string{img.Ref, id, platform, at.UTC().Format(time.RFC3339)}, " ")
}

// ParseImageLabel reads a dswarm.image label; ok only for an image found
// present (an absence is never trusted: the image may have come since).
func ParseImageLabel(v string) (img scheduler.NodeImage, at time.Time, ok bool) {
	img, at, ok = ReadImageLabel(v)
	if !ok || !img.Present || img.Err != "" {
		return scheduler.NodeImage{}, at, false
	}
	return img, at, true
}

// ReadImageLabel reads a dswarm.image label as the probe wrote it, an
// absence ("missing") or a broken image included.
func ReadImageLabel(v string) (img scheduler.NodeImage, at time.Time, ok bool) {
	f := strings.Fields(v)
	if len(f) != 4 {
		return img, at, false
	}
	at, err := time.Parse(time.RFC3339, f[3])
	if err != nil {
		return img, at, false
	}
	switch f[1] {
	case "missing":
		return scheduler.NodeImage{Ref: f[0], Checked: true}, at, true
	case "broken":
		return scheduler.NodeImage{Ref: f[0], Checked: true, Present: true, Err: "the last probe could not run it"}, at, true
	}
	p := strings.Split(f[2], "/")
	if len(p) < 2 || len(p) > 3 || p[0] == "" || p[1] == "" {
		return img, at, false
	}
	img = scheduler.NodeImage{Ref: f[0], Checked: true, Present: true, ID: f[1], OS: p[0], Arch: p[1]}
	if len(p) == 3 {
		img.Variant = p[2]
	}
	if img.ID == "-" {
		img.ID = ""
	}
	return img, at, true
}

// ImageAnswer is what `dswarm images inspect` prints, one JSON line: the
// node engine's view of the image.
type ImageAnswer struct {
	Ref          string `json:"ref"`
	Present      bool   `json:"present"`
	ID           string `json:"id,omitempty"`
	OS           string `json:"os,omitempty"`
	Architecture string `json:"architecture,omitempty"`
	Variant      string `json:"variant,omitempty"`
}

// InspectLocalImage asks the engine this process reaches (DOCKER_HOST,
// else the socket) about image ref; it is what a probe runs on its node.
func InspectLocalImage(ctx context.Context, ref string) (ImageAnswer, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return ImageAnswer{}, fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	ans := ImageAnswer{Ref: ref}
	img, err := cli.ImageInspect(ctx, ref)
	if client.IsErrNotFound(err) {
		return ans, nil
	}
	if err != nil {
		return ans, fmt.Errorf("inspect image %s at %s: %w", ref, cli.DaemonHost(), err)
	}
	ans.Present, ans.ID, ans.OS, ans.Architecture, ans.Variant = true, img.ID, img.Os, img.Architecture, img.Variant
	return ans, nil
}

// ParseImageAnswer finds a probe's answer in its output lines.
func ParseImageAnswer(lines []string) (ImageAnswer, error) {
	for i := len(lines) - 1; i >= 0; i-- {
		if !strings.HasPrefix(lines[i], `{"ref"`) {
			continue
		}
		var a ImageAnswer
		if err := json.Unmarshal([]byte(lines[i]), &a); err != nil {
			return a, fmt.Errorf("image probe answer %q: %w", lines[i], err)
		}
		return a, nil
	}
	return ImageAnswer{}, errors.New("image probe printed no answer")
}

// imageOf turns a probe's outcome into what the filter reads. A task the
// engine rejected for want of the image says the image is missing; any
// other failure to run it is the node's problem with the image.
func imageOf(ref string, out []string, err error) scheduler.NodeImage {
	img := scheduler.NodeImage{Ref: ref, Checked: true}
	if err != nil {
		if strings.Contains(err.Error(), "No such image") {
			return img
		}
		img.Present, img.Err = true, err.Error()
		return img
	}
	a, perr := ParseImageAnswer(out)
	if perr != nil {
		img.Present, img.Err = true, perr.Error()
		return img
	}
	img.Present, img.ID, img.OS, img.Arch, img.Variant = a.Present, a.ID, a.OS, a.Architecture, a.Variant
	return img
}

// socketMount is a node's Docker socket, for probes and loaders.
func socketMount() mount.Mount {
	return mount.Mount{Type: mount.TypeBind, Source: NodeDockerSocket, Target: NodeDockerSocket}
}

// ProbeSpec is the one-shot service that asks node n's engine about ref;
// pure. It runs as root for the socket (root:docker 0660 on the node),
// with every capability dropped and the isolated network, as every task.
func ProbeSpec(jobID, ref string, n scheduler.Node) swarm.ServiceSpec {
	return ServiceSpec(TaskSpec{
		JobID:    jobID,
		Name:     "image-probe-" + n.Hostname,
		Role:     "image-probe",
		Segment:  -1,
		Attempt:  1,
		Image:    ref,
		Command:  []string{"dswarm", "images", "inspect", ref},
		NodeID:   n.ID,
		NodeArch: n.Arch,
		Mounts:   []mount.Mount{socketMount()},
		User:     "0:0",
	})
}

// OneShot runs a one-shot service to its end and returns its last output
// lines (stdout), or why it failed; the service is removed either way.
// It is the plain form of Executor.Run for dswarm's own tasks (probes,
// loaders), which hold no slot and need no dispatcher.
func OneShot(ctx context.Context, e Engine, spec swarm.ServiceSpec, node string, timeout time.Duration) ([]string, error) {
	if err := EnsureIsolatedNetwork(ctx, e); err != nil {
		return nil, err
	}
	created, err := e.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
	if err != nil {
		return nil, fmt.Errorf("create service %s: %w", spec.Name, err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = e.ServiceRemove(rctx, created.ID)
	}()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := "no task yet"
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("service %s on node %s: not done after %s (%s)", spec.Name, node, timeout, last)
		case <-tick.C:
		}
		tasks, err := e.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", created.ID))})
		if err != nil || len(tasks) == 0 {
			continue
		}
		t := latest(tasks)
		last = string(t.Status.State)
		if t.Status.Err != "" {
			last += ": " + t.Status.Err
		}
		switch t.Status.State {
		case swarm.TaskStateComplete:
			out, _ := taskLogs(ctx, e, t.ID, 50)
			return out, nil
		case swarm.TaskStateFailed, swarm.TaskStateRejected:
			msg := t.Status.Err
			if _, errs := taskLogs(ctx, e, t.ID, 20); len(errs) > 0 {
				msg += ": " + errs[len(errs)-1]
			}
			return nil, fmt.Errorf("service %s on node %s: %s: %s", spec.Name, node, t.Status.State, msg)
		case swarm.TaskStateOrphaned, swarm.TaskStateShutdown, swarm.TaskStateRemove:
			return nil, fmt.Errorf("service %s on node %s: %s (node lost?)", spec.Name, node, t.Status.State)
		}
	}
}

// ProbeTimeout bounds one probe: a node that cannot start a task that
// prints one line in this time would not run segments either.
const ProbeTimeout = time.Minute

// ProbeImages asks every node at once which image it holds under ref. A
// probe that could not be made at all leaves its node unchecked.
func ProbeImages(ctx context.Context, e Engine, jobID, ref string, nodes []scheduler.Node) map[string]scheduler.NodeImage {
	out := make(map[string]scheduler.NodeImage, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines, err := OneShot(ctx, e, ProbeSpec(jobID, ref, n), n.Hostname, ProbeTimeout)
			img := imageOf(ref, lines, err)
			if err != nil && strings.HasPrefix(err.Error(), "create service") {
				img = scheduler.NodeImage{Ref: ref, Err: err.Error()}
			}
			mu.Lock()
			out[n.Hostname] = img
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// LabelledImages sets nodes[i].Image from the dswarm.image labels alone,
// whatever their age: the last thing a probe found, for listings that must
// not start services (the API's node list).
func LabelledImages(ctx context.Context, e Engine, ref string, nodes []scheduler.Node) error {
	list, err := e.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for _, sn := range list {
		img, _, ok := ReadImageLabel(sn.Spec.Labels[LabelImage])
		if !ok || img.Ref != ref {
			continue
		}
		for i := range nodes {
			if nodes[i].ID == sn.ID {
				nodes[i].Image = img
			}
		}
	}
	return nil
}

// NodeImages sets nodes[i].Image: from the node's dswarm.image label when
// it names ref and is at most maxAge old at now, else by a probe (nodes not
// ready and active are left unchecked: the state filters reject them). The
// probes' answers are written back to the labels. It returns how many nodes
// it probed. maxAge 0 probes every node.
func NodeImages(ctx context.Context, e Engine, jobID, ref string, nodes []scheduler.Node, maxAge time.Duration, now time.Time) (int, error) {
	list, err := e.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list nodes: %w", err)
	}
	labels := map[string]string{}
	for _, n := range list {
		labels[n.ID] = n.Spec.Labels[LabelImage]
	}
	active, _ := scheduler.Active(nodes)
	var probe []scheduler.Node
	cached := map[string]scheduler.NodeImage{}
	for _, n := range active {
		img, at, ok := ParseImageLabel(labels[n.ID])
		if ok && maxAge > 0 && img.Ref == ref && !at.After(now) && now.Sub(at) <= maxAge {
			cached[n.ID] = img
			continue
		}
		probe = append(probe, n)
	}
	found := ProbeImages(ctx, e, jobID, ref, probe)
	for i, n := range nodes {
		if img, ok := cached[n.ID]; ok {
			nodes[i].Image = img
			continue
		}
		img, ok := found[n.Hostname]
		if !ok {
			continue
		}
		nodes[i].Image = img
		if img.Checked {
			// A label not written is only a cache miss for the next job.
			_ = SetNodeLabel(ctx, e, n.ID, LabelImage, FormatImageLabel(img, now))
		}
	}
	return len(probe), nil
}

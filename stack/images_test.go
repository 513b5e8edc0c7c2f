package stack

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
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
	"github.com/dswarm/dswarm/scheduler"
)

// nodeEngine is a fake Docker API for the per-node image tasks: each
// node (by its node.id constraint) answers as its engine would.
type nodeEngine struct {
	Engine
	mu      sync.Mutex
	nodes   []swarm.Node
	answer  map[string]func(spec swarm.ServiceSpec) (swarm.TaskState, string, string) // node ID -> state, Status.Err, stdout
	live    map[string]swarm.ServiceSpec
	created []swarm.ServiceSpec
	removed int
}

func newNodeEngine(nodes ...swarm.Node) *nodeEngine {
	return &nodeEngine{nodes: nodes, answer: map[string]func(swarm.ServiceSpec) (swarm.TaskState, string, string){}, live: map[string]swarm.ServiceSpec{}}
}

func swarmNode(id, host, arch, label string) swarm.Node {
	n := swarm.Node{ID: id}
	n.Description.Hostname, n.Description.Platform.Architecture = host, arch
	n.Description.Resources.NanoCPUs = 2e9
	n.Status.State, n.Spec.Availability = swarm.NodeStateReady, swarm.NodeAvailabilityActive
	if label != "" {
		n.Spec.Labels = map[string]string{LabelImage: label}
	}
	return n
}

func (f *nodeEngine) NodeList(_ context.Context, opts swarm.NodeListOptions) ([]swarm.Node, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := opts.Filters.Get("id")
	var out []swarm.Node
	for _, n := range f.nodes {
		if len(ids) == 0 || ids[0] == n.ID {
			out = append(out, n)
		}
	}
	return out, nil
}

func (f *nodeEngine) NodeUpdate(_ context.Context, id string, _ swarm.Version, spec swarm.NodeSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.nodes {
		if f.nodes[i].ID == id {
			f.nodes[i].Spec = spec
		}
	}
	return nil
}

func (f *nodeEngine) label(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.nodes {
		if n.ID == id {
			return n.Spec.Labels[LabelImage]
		}
	}
	return ""
}

func (f *nodeEngine) NetworkList(context.Context, network.ListOptions) ([]network.Summary, error) {
	return []network.Summary{{Name: IsolatedNetwork, Internal: true}}, nil
}

func (f *nodeEngine) ServiceCreate(_ context.Context, spec swarm.ServiceSpec, _ swarm.ServiceCreateOptions) (swarm.ServiceCreateResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, spec)
	f.live[spec.Name] = spec
	return swarm.ServiceCreateResponse{ID: spec.Name}, nil
}

func (f *nodeEngine) ServiceRemove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, id)
	f.removed++
	return nil
}

// run is a service's outcome on the node its constraint names.
func (f *nodeEngine) run(id string) (swarm.TaskState, string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	spec, ok := f.live[id]
	if !ok {
		return swarm.TaskStateRemove, "", ""
	}
	answer := f.answer[constraintNode(spec)]
	if answer == nil {
		return swarm.TaskStatePending, "no suitable node", ""
	}
	return answer(spec)
}

func (f *nodeEngine) TaskList(_ context.Context, opts swarm.TaskListOptions) ([]swarm.Task, error) {
	id := opts.Filters.Get("service")[0]
	state, msg, _ := f.run(id)
	return []swarm.Task{{ID: id, Status: swarm.TaskStatus{State: state, Err: msg}}}, nil
}

func (f *nodeEngine) TaskLogs(_ context.Context, id string, _ container.LogsOptions) (io.ReadCloser, error) {
	_, _, stdout := f.run(id)
	var b bytes.Buffer
	hdr := make([]byte, 8)
	hdr[0] = 1
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(stdout)))
	b.Write(hdr)
	b.WriteString(stdout)
	return io.NopCloser(&b), nil
}

// holds answers a probe as an engine holding the image with this
// platform would.
func holds(id, platform string) func(swarm.ServiceSpec) (swarm.TaskState, string, string) {
	p := strings.Split(platform, "/")
	variant := ""
	if len(p) == 3 {
		variant = `,"variant":"` + p[2] + `"`
	}
	return func(swarm.ServiceSpec) (swarm.TaskState, string, string) {
		return swarm.TaskStateComplete, "", `{"ref":"dswarm/worker:latest","present":true,"id":"` + id + `","os":"` + p[0] + `","architecture":"` + p[1] + `"` + variant + "}\n"
	}
}

func lacks(swarm.ServiceSpec) (swarm.TaskState, string, string) {
	return swarm.TaskStateRejected, "No such image: dswarm/worker:latest", ""
}

func TestProbeSpec(t *testing.T) {
	spec := ProbeSpec("j1", "dswarm/worker:latest", scheduler.Node{ID: "n2", Hostname: "pi-2", Arch: "aarch64"})
	c := spec.TaskTemplate.ContainerSpec
	assert.Equal(t, "dswarm-j1-image-probe-pi-2-a1", spec.Name)
	assert.Equal(t, "j1", spec.Labels[LabelJob], "found and removed with its job")
	assert.Equal(t, "dswarm/worker:latest", c.Image)
	assert.Equal(t, []string{"dswarm", "images", "inspect", "dswarm/worker:latest"}, c.Command)
	assert.Equal(t, []string{"node.id==n2", "node.platform.arch==aarch64"}, spec.TaskTemplate.Placement.Constraints)
	assert.Contains(t, c.Mounts, socketMount())
	assert.Equal(t, "0:0", c.User, "root for the socket")
	assert.Equal(t, []string{"ALL"}, c.CapabilityDrop)
	assert.True(t, c.ReadOnly)
	assert.Equal(t, IsolatedNetwork, spec.TaskTemplate.Networks[0].Target)
}

func TestImageLabel(t *testing.T) {
	at := time.Date(2026, 11, 23, 22, 0, 0, 0, time.UTC)
	img := scheduler.NodeImage{Ref: "dswarm/worker:latest", Checked: true, Present: true, ID: "sha256:ab", OS: "linux", Arch: "arm64", Variant: "v8"}
	v := FormatImageLabel(img, at)
	assert.Equal(t, "dswarm/worker:latest sha256:ab linux/arm64/v8 2026-11-23T22:00:00Z", v)
	got, gotAt, ok := ParseImageLabel(v)
	require.True(t, ok)
	assert.Equal(t, img, got)
	assert.Equal(t, at, gotAt)

	missing := FormatImageLabel(scheduler.NodeImage{Ref: "dswarm/worker:latest", Checked: true}, at)
	assert.Equal(t, "dswarm/worker:latest missing - 2026-11-23T22:00:00Z", missing)
	for _, bad := range []string{missing, "", "dswarm/worker:latest sha256:ab linux 2026-11-23T22:00:00Z", "a b linux/arm64 yesterday", "a broken - 2026-11-23T22:00:00Z"} {
		_, _, ok := ParseImageLabel(bad)
		assert.False(t, ok, "%q is not trusted", bad)
	}
}

func TestImagePlatforms(t *testing.T) {
	img := scheduler.NodeImage{Checked: true, Present: true, OS: "linux", Arch: "arm", Variant: "v7"}
	assert.Equal(t, []swarm.Platform{{OS: "linux", Architecture: "armv7l"}}, ImagePlatforms(img), "as the node names it: Swarm maps only x86_64 and aarch64")
	img.Arch, img.Variant = "arm64", "v8"
	assert.Equal(t, []swarm.Platform{{OS: "linux", Architecture: "aarch64"}}, ImagePlatforms(img))
	assert.Nil(t, ImagePlatforms(scheduler.NodeImage{}), "unchecked: no platform")
	assert.Nil(t, ImagePlatforms(scheduler.NodeImage{Checked: true}), "missing: no platform")
}

func TestNodeImages(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		now := time.Now()
		fresh := FormatImageLabel(scheduler.NodeImage{Ref: "dswarm/worker:latest", Present: true, ID: "sha256:c", OS: "linux", Arch: "arm64"}, now.Add(-time.Minute))
		old := FormatImageLabel(scheduler.NodeImage{Ref: "dswarm/worker:latest", Present: true, ID: "sha256:old", OS: "linux", Arch: "amd64"}, now.Add(-time.Hour))
		other := FormatImageLabel(scheduler.NodeImage{Ref: "other/image:1", Present: true, ID: "sha256:o", OS: "linux", Arch: "arm64"}, now)
		down := swarmNode("n6", "gone", "x86_64", "")
		down.Status.State = swarm.NodeStateDown
		f := newNodeEngine(
			swarmNode("n1", "x86", "x86_64", ""),
			swarmNode("n2", "pi-1", "aarch64", ""),
			swarmNode("n3", "pi-2", "aarch64", ""),
			swarmNode("n4", "pi-3", "aarch64", fresh),
			swarmNode("n5", "x86-old", "x86_64", old),
			down,
			swarmNode("n7", "pi-4", "aarch64", other),
			swarmNode("n8", "pi-5", "aarch64", ""),
		)
		f.answer["n1"] = holds("sha256:a", "linux/amd64")
		f.answer["n2"] = holds("sha256:a", "linux/amd64") // emulated: it runs, and says what it is
		f.answer["n3"] = lacks
		f.answer["n5"] = holds("sha256:new", "linux/amd64")
		f.answer["n7"] = holds("sha256:d", "linux/arm64/v8")
		f.answer["n8"] = func(swarm.ServiceSpec) (swarm.TaskState, string, string) {
			return swarm.TaskStateFailed, "starting container failed: exec format error", ""
		}
		nodes, err := Nodes(context.Background(), f)
		require.NoError(t, err)

		probed, err := NodeImages(context.Background(), f, "probe1", "dswarm/worker:latest", nodes, ImageMaxAge, now)
		require.NoError(t, err)
		assert.Equal(t, 6, probed, "all but the fresh label and the down node")
		var probedNodes []string
		for _, s := range f.created {
			probedNodes = append(probedNodes, constraintNode(s))
		}
		assert.ElementsMatch(t, []string{"n1", "n2", "n3", "n5", "n7", "n8"}, probedNodes)
		assert.Empty(t, f.live, "every probe removed")

		feas := scheduler.Feasible(nodes, nil)
		var ok []string
		for _, n := range feas.Nodes {
			ok = append(ok, n.Hostname)
		}
		assert.ElementsMatch(t, []string{"x86", "pi-3", "x86-old", "pi-4"}, ok)
		assert.Equal(t, map[string]string{
			"pi-1": "no dswarm/worker:latest for aarch64 (it holds linux/amd64)",
			"pi-2": "no dswarm/worker:latest for aarch64 (image missing)",
			"pi-5": "dswarm/worker:latest does not run on aarch64: service dswarm-probe1-image-probe-pi-5-a1 on node pi-5: failed: starting container failed: exec format error",
			"gone": "down",
		}, feas.Rejected)

		byHost := map[string]scheduler.Node{}
		for _, n := range nodes {
			byHost[n.Hostname] = n
		}
		assert.Equal(t, "sha256:c", byHost["pi-3"].Image.ID, "from the label")
		assert.Equal(t, "sha256:new", byHost["x86-old"].Image.ID, "an old label is probed again")
		assert.False(t, byHost["gone"].Image.Checked)
		assert.Equal(t, fresh, f.label("n4"), "a cached label is left as it is")
		assert.Equal(t, FormatImageLabel(byHost["x86-old"].Image, now), f.label("n5"))
		assert.True(t, strings.HasPrefix(f.label("n3"), "dswarm/worker:latest missing - "), f.label("n3"))

		// The next job trusts what this one wrote, except absences.
		f.created = nil
		nodes, err = Nodes(context.Background(), f)
		require.NoError(t, err)
		probed, err = NodeImages(context.Background(), f, "probe2", "dswarm/worker:latest", nodes, ImageMaxAge, now.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 2, probed, "the missing and the broken image are asked again")

		// The API's listing reads the labels alone, absences included.
		f.created = nil
		nodes, _ = Nodes(context.Background(), f)
		require.NoError(t, LabelledImages(context.Background(), f, "dswarm/worker:latest", nodes))
		assert.Empty(t, f.created, "no probe")
		listed := scheduler.Feasible(nodes, nil)
		assert.Equal(t, "no dswarm/worker:latest for aarch64 (image missing)", listed.Rejected["pi-2"])
		assert.Equal(t, "no dswarm/worker:latest for aarch64 (it holds linux/amd64)", listed.Rejected["pi-1"])
		assert.Contains(t, listed.Rejected["pi-5"], "does not run on aarch64")

		// maxAge 0 (dswarm nodes) probes every active node.
		nodes, _ = Nodes(context.Background(), f)
		probed, _ = NodeImages(context.Background(), f, "probe3", "dswarm/worker:latest", nodes, 0, now)
		assert.Equal(t, 7, probed)
	})
}

func TestProbeNeverStarts(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newNodeEngine(swarmNode("n1", "stuck", "x86_64", ""))
		nodes, _ := Nodes(context.Background(), f)
		_, err := NodeImages(context.Background(), f, "p", "dswarm/worker:latest", nodes, 0, time.Now())
		require.NoError(t, err)
		img := nodes[0].Image
		assert.True(t, img.Checked)
		assert.Contains(t, img.Err, "not done after 1m0s (pending: no suitable node)")
		assert.Empty(t, f.live)
	})
}

func TestExecutorTasksCarryImagePlatform(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateComplete, 0 })
		x := newExec(f)
		x.NoStandby = true
		x.Nodes[1].Image = scheduler.NodeImage{Ref: "img", Checked: true, Present: true, ID: "sha256:b", OS: "linux", Arch: "arm64", Variant: "v8"}
		_, err := x.Place("j", []scheduler.Segment{{Count: 1}})
		require.NoError(t, err)
		// Retries avoid node1, so node2 (aarch64, an arm64 image) runs it.
		_, err = x.Run(context.Background(), job.Task{JobID: "j", Name: "seg-000", Role: job.RoleSegment, Segment: 0, Attempt: 2, Avoid: []string{"node1"}})
		require.NoError(t, err)
		require.Len(t, f.created, 1)
		p := f.created[0].TaskTemplate.Placement
		assert.Contains(t, p.Constraints, "node.platform.arch==aarch64", "the node's arch stays a constraint")
		assert.Equal(t, []swarm.Platform{{OS: "linux", Architecture: "aarch64"}}, p.Platforms)

		y := newExec(f)
		y.NoStandby = true
		y.Nodes = y.Nodes[:1]
		_, err = y.Run(context.Background(), job.Task{JobID: "k", Name: "merge", Role: job.RoleMerge, Segment: -1, Attempt: 1})
		require.NoError(t, err)
		require.Len(t, f.created, 2)
		assert.Equal(t, "n1", constraintNode(f.created[1]))
		assert.Nil(t, f.created[1].TaskTemplate.Placement.Platforms, "node1's image was never checked")
	})
}

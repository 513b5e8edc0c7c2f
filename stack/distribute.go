package stack

// Putting the worker image onto every node without a registry.
//
// `make images ARCHS="amd64 arm64"` leaves one docker-archive per
// architecture (`docker save`) in the shared storage's images/ folder,
// which every node mounts already. For each node, `dswarm images
// distribute` picks the archive whose platform runs there, and, unless the
// node's engine holds that image ID under the worker image's name already
// (idempotent: nothing runs), starts a one-shot loader service on the node
// that reads the archive from the storage and loads it through the node's
// Docker socket (`dswarm images load`), then tags it with the worker
// image's name. Why not a registry service in the stack: every node's
// engine would have to trust it (a registry without TLS must be listed in
// each node's daemon.json as insecure, or get a certificate each node
// trusts), Debian's registry serves one platform per tag unless a
// multi-platform manifest is pushed, which needs buildx; the storage is
// shared already and the loader needs nothing on the nodes but what dswarm
// needs anyway. The loader itself must run on the node: from the image the
// node holds under the worker image's name (an older one, or one of
// another architecture under binfmt emulation), or under the name the
// archive gives it (a node where the archive was loaded by hand and not
// tagged). A node that holds none cannot run any service; it needs the
// archive loaded once by hand, which distribute says.

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/client"

	"github.com/dswarm/dswarm/scheduler"
)

// ImagesDir is the folder of the shared storage that holds the worker
// image archives, one per architecture (worker-amd64.tar, worker-arm64.tar).
const ImagesDir = "images"

// Archive is one docker-archive of the worker image: its file and the
// image's ID and platform as its config says.
type Archive struct {
	Path              string // as this machine sees it
	ID                string // sha256:..., the image ID an engine gives it
	OS, Arch, Variant string
	// Tags are the names the archive gives its image (docker save's
	// RepoTags): what a node that loaded it by hand holds it under.
	Tags []string
}

// Image is the archive's image as a node holding it under ref would.
func (a Archive) Image(ref string) scheduler.NodeImage {
	return scheduler.NodeImage{Ref: ref, Checked: true, Present: true, ID: a.ID, OS: a.OS, Arch: a.Arch, Variant: a.Variant}
}

// ReadArchive reads a docker-archive's manifest and image config (the
// first image in it); it does not read the layers.
func ReadArchive(path string) (Archive, error) {
	f, err := os.Open(path)
	if err != nil {
		return Archive{}, err
	}
	defer f.Close()
	a, err := readArchive(f)
	if err != nil {
		return Archive{}, fmt.Errorf("image archive %s: %w", path, err)
	}
	a.Path = path
	return a, nil
}

// readArchive reads the config of the first image of a docker-archive; a
// config named before manifest.json is kept until the manifest names it.
func readArchive(r io.Reader) (Archive, error) {
	tr := tar.NewReader(r)
	configs := map[string][]byte{}
	var manifest []struct {
		Config   string
		RepoTags []string
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Archive{}, err
		}
		name := strings.TrimPrefix(h.Name, "./")
		switch {
		case name == "manifest.json":
			if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&manifest); err != nil {
				return Archive{}, fmt.Errorf("manifest.json: %w", err)
			}
		case strings.HasSuffix(name, ".json") && !strings.Contains(name, "/") && h.Size < 1<<20:
			b, err := io.ReadAll(tr)
			if err != nil {
				return Archive{}, err
			}
			configs[name] = b
		}
	}
	if len(manifest) == 0 {
		return Archive{}, errors.New("no manifest.json: not a docker-archive (docker save)")
	}
	cfg, ok := configs[manifest[0].Config]
	if !ok {
		return Archive{}, fmt.Errorf("config %s named in manifest.json is missing", manifest[0].Config)
	}
	var c struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return Archive{}, fmt.Errorf("config %s: %w", manifest[0].Config, err)
	}
	// Docker's image ID is the digest of the config, which docker save names
	// the config file by.
	id := "sha256:" + strings.TrimSuffix(filepath.Base(manifest[0].Config), ".json")
	return Archive{ID: id, OS: c.OS, Arch: c.Architecture, Variant: c.Variant, Tags: manifest[0].RepoTags}, nil
}

// Archives reads every *.tar in dir.
func Archives(dir string) ([]Archive, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.tar"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Archive
	for _, p := range paths {
		a, err := ReadArchive(p)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no image archives (*.tar) in %s: make images ARCHS=\"amd64 arm64\" STORAGE=... puts them there", dir)
	}
	return out, nil
}

// ArchiveFor is the archive whose image runs natively on a node of arch
// nodeArch.
func ArchiveFor(archives []Archive, nodeArch string) (Archive, bool) {
	for _, a := range archives {
		if a.Image("").RunsOn(nodeArch) {
			return a, true
		}
	}
	return Archive{}, false
}

// LoadAction is what distribute does on a node; pure.
type LoadAction struct {
	Node    scheduler.Node
	Archive Archive
	// Skip is why nothing runs on the node ("" = load the archive there).
	Skip string
	Done bool // Skip because the node has it already
}

// PlanLoads decides, per active node, whether its engine needs the
// archive for its architecture: not when it holds that image ID under the
// worker image's name already.
func PlanLoads(nodes []scheduler.Node, archives []Archive) []LoadAction {
	var out []LoadAction
	for _, n := range nodes {
		a, ok := ArchiveFor(archives, n.Arch)
		act := LoadAction{Node: n, Archive: a}
		switch {
		case !ok:
			act.Skip = fmt.Sprintf("no image archive for %s", n.Arch)
		case n.Image.Present && n.Image.Err == "" && n.Image.ID == a.ID:
			act.Skip, act.Done = "has "+shortID(a.ID)+" ("+a.Image("").Platform()+") already", true
		}
		out = append(out, act)
	}
	return out
}

func shortID(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}

// LoaderSpec is the one-shot service that loads archive (a path as the
// nodes see it) on node n and tags it ref; storage is the shared storage's
// mount, made read-only here. It runs from the image the node holds under
// from: ref itself, or a name the archive gives its image (see loaderImages);
// try numbers the service's name.
func LoaderSpec(jobID, from, ref, archive string, storage mount.Mount, n scheduler.Node, try int) swarm.ServiceSpec {
	storage.ReadOnly = true
	return ServiceSpec(TaskSpec{
		JobID:    jobID,
		Name:     fmt.Sprintf("image-load-%s-%d", n.Hostname, try),
		Role:     "image-load",
		Segment:  -1,
		Attempt:  1,
		Image:    from,
		Command:  []string{"dswarm", "images", "load", archive, ref},
		NodeID:   n.ID,
		NodeArch: n.Arch,
		Mounts:   []mount.Mount{socketMount(), storage},
		User:     "0:0",
	})
}

// loaderImages are the images a node may hold to run the loader from, in
// order: the worker image's name, then the names the archive gives its
// image, which a node that loaded the archive by hand (docker load, no tag)
// holds it under. A node that holds none of them can run no service at all.
func loaderImages(ref string, a Archive) []string {
	out := []string{ref}
	for _, t := range a.Tags {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// LoadTimeout bounds one node's load (an 800 MB archive over NFS to a Pi).
const LoadTimeout = 15 * time.Minute

// LoadAnswer is what `dswarm images load` prints, one JSON line.
type LoadAnswer struct {
	Loaded string `json:"loaded"` // image ID now under the ref
	Before string `json:"before,omitempty"`
}

// LoadLocalImage loads a docker-archive into the engine this process
// reaches and tags its image ref; what the loader runs on its node.
func LoadLocalImage(ctx context.Context, path, ref string) (LoadAnswer, error) {
	a, err := ReadArchive(path)
	if err != nil {
		return LoadAnswer{}, err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return LoadAnswer{}, fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()
	var ans LoadAnswer
	if img, err := cli.ImageInspect(ctx, ref); err == nil {
		ans.Before = img.ID
	}
	f, err := os.Open(path)
	if err != nil {
		return ans, err
	}
	defer f.Close()
	resp, err := cli.ImageLoad(ctx, f, client.ImageLoadWithQuiet(true))
	if err != nil {
		return ans, fmt.Errorf("load %s: %w", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err := cli.ImageTag(ctx, a.ID, ref); err != nil {
		return ans, fmt.Errorf("tag %s as %s: %w", shortID(a.ID), ref, err)
	}
	ans.Loaded = a.ID
	return ans, nil
}

// NodeLoad is one node's outcome of Distribute.
type NodeLoad struct {
	Node    string `json:"node"`
	Arch    string `json:"arch"`
	Archive string `json:"archive,omitempty"`
	// Did is what happened: "loaded sha256:... (linux/arm64)", "has ... already".
	Did   string `json:"did,omitempty"`
	Error string `json:"error,omitempty"`
}

// Distribute loads each active node's archive where its engine lacks it
// (see PlanLoads), all nodes at once, and reports per node. nodes must
// carry what a probe found (NodeImages). hostRoot and nodeRoot are where
// this machine and the nodes see the shared storage that holds the archives.
func Distribute(ctx context.Context, e Engine, jobID, ref string, nodes []scheduler.Node, archives []Archive, hostRoot, nodeRoot string, storage mount.Mount) []NodeLoad {
	acts := PlanLoads(nodes, archives)
	out := make([]NodeLoad, len(acts))
	var wg sync.WaitGroup
	for i, act := range acts {
		out[i] = NodeLoad{Node: act.Node.Hostname, Arch: act.Node.Arch, Archive: act.Archive.Path}
		switch {
		case act.Done:
			out[i].Did = act.Skip
			continue
		case act.Skip != "":
			out[i].Error = act.Skip
			continue
		}
		rel, err := filepath.Rel(hostRoot, act.Archive.Path)
		if err != nil || !filepath.IsLocal(rel) {
			out[i].Error = fmt.Sprintf("%s is outside the shared storage %s: the node cannot read it", act.Archive.Path, hostRoot)
			continue
		}
		nodePath := filepath.Join(nodeRoot, rel)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lines []string
			var err error
			for k, from := range loaderImages(ref, act.Archive) {
				lines, err = OneShot(ctx, e, LoaderSpec(jobID, from, ref, nodePath, storage, act.Node, k+1), act.Node.Hostname, LoadTimeout)
				if err == nil || !strings.Contains(err.Error(), "No such image") {
					break
				}
			}
			if err != nil {
				if strings.Contains(err.Error(), "No such image") {
					err = fmt.Errorf("the node holds no image to run the loader from (%s); load it there once by hand: docker load -i %s && docker tag %s %s",
						strings.Join(loaderImages(ref, act.Archive), ", "), nodePath, shortID(act.Archive.ID), ref)
				}
				out[i].Error = err.Error()
				return
			}
			var ans LoadAnswer
			for _, l := range lines {
				if strings.HasPrefix(l, `{"loaded"`) {
					_ = json.Unmarshal([]byte(l), &ans)
				}
			}
			if ans.Loaded != act.Archive.ID {
				out[i].Error = fmt.Sprintf("loader printed no answer (last lines: %q)", lines)
				return
			}
			out[i].Did = "loaded " + shortID(ans.Loaded) + " (" + act.Archive.Image("").Platform() + ")"
			if ans.Before != "" && ans.Before != ans.Loaded {
				out[i].Did += ", was " + shortID(ans.Before)
			}
		}()
	}
	wg.Wait()
	return out
}

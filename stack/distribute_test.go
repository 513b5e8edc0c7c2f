package stack

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/scheduler"
)

// writeArchive writes a docker-archive as docker save makes it (a config
// named by its digest, manifest.json after it, a layer) and returns its
// image ID.
func writeArchive(t *testing.T, path, arch, variant string) string {
	t.Helper()
	cfg := []byte(`{"architecture":"` + arch + `","os":"linux","variant":"` + variant + `","rootfs":{"type":"layers"}}`)
	sum := sha256.Sum256(cfg)
	id := hex.EncodeToString(sum[:])
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range []struct{ name, body string }{
		{"abc/layer.tar", "not really a layer"},
		{id + ".json", string(cfg)},
		{"manifest.json", `[{"Config":"` + id + `.json","RepoTags":["dswarm/worker:latest-` + arch + `"],"Layers":["abc/layer.tar"]}]`},
	} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body))}))
		_, err := tw.Write([]byte(f.body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	return "sha256:" + id
}

func TestReadArchive(t *testing.T) {
	dir := t.TempDir()
	id := writeArchive(t, filepath.Join(dir, "worker-arm64.tar"), "arm64", "v8")
	a, err := ReadArchive(filepath.Join(dir, "worker-arm64.tar"))
	require.NoError(t, err)
	assert.Equal(t, Archive{Path: filepath.Join(dir, "worker-arm64.tar"), ID: id, OS: "linux", Arch: "arm64", Variant: "v8",
		Tags: []string{"dswarm/worker:latest-arm64"}}, a)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "junk.tar"), []byte("not a tar"), 0o644))
	_, err = Archives(dir)
	assert.ErrorContains(t, err, "junk.tar")
	_, err = Archives(t.TempDir())
	assert.ErrorContains(t, err, "no image archives")
}

func TestPlanLoads(t *testing.T) {
	amd := Archive{Path: "/s/images/worker-amd64.tar", ID: "sha256:aaa", OS: "linux", Arch: "amd64"}
	arm := Archive{Path: "/s/images/worker-arm64.tar", ID: "sha256:bbb", OS: "linux", Arch: "arm64", Variant: "v8"}
	has := func(id, arch string) scheduler.NodeImage {
		return scheduler.NodeImage{Checked: true, Present: true, ID: id, OS: "linux", Arch: arch}
	}
	for _, tc := range []struct {
		name    string
		node    scheduler.Node
		archive string
		skip    string
		done    bool
	}{
		{"has it already", scheduler.Node{Arch: "x86_64", Image: has("sha256:aaa", "amd64")}, "worker-amd64.tar", "has sha256:aaa (linux/amd64) already", true},
		{"an older image", scheduler.Node{Arch: "x86_64", Image: has("sha256:old", "amd64")}, "worker-amd64.tar", "", false},
		{"the x86 image on a pi", scheduler.Node{Arch: "aarch64", Image: has("sha256:aaa", "amd64")}, "worker-arm64.tar", "", false},
		{"nothing at all", scheduler.Node{Arch: "aarch64", Image: scheduler.NodeImage{Checked: true}}, "worker-arm64.tar", "", false},
		{"no archive for it", scheduler.Node{Arch: "armv7l"}, ".", "no image archive for armv7l", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acts := PlanLoads([]scheduler.Node{tc.node}, []Archive{amd, arm})
			require.Len(t, acts, 1)
			assert.Equal(t, tc.archive, filepath.Base(acts[0].Archive.Path), "archive")
			assert.Equal(t, tc.skip, acts[0].Skip)
			assert.Equal(t, tc.done, acts[0].Done)
		})
	}
}

func TestDistribute(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		host := t.TempDir()
		require.NoError(t, os.MkdirAll(filepath.Join(host, ImagesDir), 0o755))
		amdID := writeArchive(t, filepath.Join(host, ImagesDir, "worker-amd64.tar"), "amd64", "")
		armID := writeArchive(t, filepath.Join(host, ImagesDir, "worker-arm64.tar"), "arm64", "v8")
		archives, err := Archives(filepath.Join(host, ImagesDir))
		require.NoError(t, err)

		f := newNodeEngine()
		var loaded []swarm.ServiceSpec
		f.answer["n2"] = func(spec swarm.ServiceSpec) (swarm.TaskState, string, string) {
			loaded = append(loaded, spec)
			return swarm.TaskStateComplete, "", `{"loaded":"` + armID + `","before":"` + amdID + `"}` + "\n"
		}
		f.answer["n3"] = lacks
		// A Pi where the archive was loaded by hand and not tagged: the
		// loader runs from the archive's own name.
		f.answer["n5"] = func(spec swarm.ServiceSpec) (swarm.TaskState, string, string) {
			if spec.TaskTemplate.ContainerSpec.Image == "dswarm/worker:latest" {
				return lacks(spec)
			}
			loaded = append(loaded, spec)
			return swarm.TaskStateComplete, "", `{"loaded":"` + armID + `"}` + "\n"
		}
		nodes := []scheduler.Node{
			{ID: "n1", Hostname: "x86", Arch: "x86_64", Image: scheduler.NodeImage{Checked: true, Present: true, ID: amdID, OS: "linux", Arch: "amd64"}},
			{ID: "n2", Hostname: "pi-1", Arch: "aarch64", Image: scheduler.NodeImage{Checked: true, Present: true, ID: amdID, OS: "linux", Arch: "amd64"}},
			{ID: "n3", Hostname: "pi-2", Arch: "aarch64", Image: scheduler.NodeImage{Checked: true}},
			{ID: "n4", Hostname: "pi-old", Arch: "armv7l"},
			{ID: "n5", Hostname: "pi-3", Arch: "aarch64", Image: scheduler.NodeImage{Checked: true}},
		}
		storage := mount.Mount{Type: mount.TypeBind, Source: "/srv/dswarm", Target: "/srv/dswarm"}
		res := Distribute(context.Background(), f, "d1", "dswarm/worker:latest", nodes, archives, host, "/srv/dswarm", storage)
		require.Len(t, res, 5)
		assert.Equal(t, "has "+amdID[:19]+" (linux/amd64) already", res[0].Did)
		assert.Empty(t, res[0].Error)
		assert.Equal(t, "loaded "+armID[:19]+" (linux/arm64/v8), was "+amdID[:19], res[1].Did)
		assert.Empty(t, res[1].Error)
		assert.Contains(t, res[2].Error, "the node holds no image to run the loader from (dswarm/worker:latest, dswarm/worker:latest-arm64); load it there once by hand: docker load -i /srv/dswarm/images/worker-arm64.tar")
		assert.Equal(t, "no image archive for armv7l", res[3].Error)
		assert.Equal(t, "loaded "+armID[:19]+" (linux/arm64/v8)", res[4].Did)
		assert.Empty(t, res[4].Error)

		require.Len(t, f.created, 5, "nothing runs on the node that has it, or without an archive; a second try from the archive's name where the worker's is missing")
		var fromTag *swarm.ServiceSpec
		for i := range loaded {
			if strings.Contains(loaded[i].Name, "pi-3") {
				fromTag = &loaded[i]
			}
		}
		require.NotNil(t, fromTag, "a loader ran on pi-3")
		assert.Equal(t, "dswarm/worker:latest-arm64", fromTag.TaskTemplate.ContainerSpec.Image)
		assert.Equal(t, []string{"dswarm", "images", "load", "/srv/dswarm/images/worker-arm64.tar", "dswarm/worker:latest"}, fromTag.TaskTemplate.ContainerSpec.Command, "tagged as the worker image")
		require.NotEmpty(t, loaded)
		spec := loaded[0]
		c := spec.TaskTemplate.ContainerSpec
		assert.Equal(t, []string{"dswarm", "images", "load", "/srv/dswarm/images/worker-arm64.tar", "dswarm/worker:latest"}, c.Command, "the archive as the node sees it")
		assert.Equal(t, "dswarm/worker:latest", c.Image, "runs from what the node holds")
		ro := storage
		ro.ReadOnly = true
		assert.Contains(t, c.Mounts, ro, "the storage read-only")
		assert.Contains(t, c.Mounts, socketMount())
		assert.Equal(t, "d1", spec.Labels[LabelJob])
		assert.Empty(t, f.live, "every loader removed")
	})
}

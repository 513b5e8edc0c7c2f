//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// mixedClip is the mixed swarm's source: 12 s of moving test pattern with a
// keyframe every second, small enough for the emulated node.
var mixedClip = testmedia.Spec{Name: "mixed-360p-12s.mp4", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=12",
	"-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-pix_fmt", "yuv420p",
}}

// nodeInfo is a row of `dswarm nodes --json`.
type nodeInfo struct {
	Hostname      string `json:"hostname"`
	Arch          string `json:"arch"`
	Image         bool   `json:"image"`
	ImagePlatform string `json:"image_platform"`
	Eligible      bool   `json:"eligible"`
	Reason        string `json:"reason"`
}

func listNodes(t *testing.T) map[string]nodeInfo {
	t.Helper()
	code, stdout, stderr := dswarm(t, context.Background(), "nodes", "--json")
	require.Equal(t, 0, code, stderr)
	var rows []nodeInfo
	require.NoError(t, json.Unmarshal([]byte(stdout), &rows))
	out := map[string]nodeInfo{}
	for _, r := range rows {
		out[r.Hostname] = r
	}
	return out
}

// TestMixedSwarm runs jobs on the three x86_64 nodes and the aarch64 node
// (make cluster-up: an engine that reports aarch64, with the arm64 worker
// image, whose ffmpeg runs under qemu about as fast as a Pi). With binfmt
// on, a wrong-architecture image would run too (emulated), so what is
// asserted is where tasks went and which image each node holds.
func TestMixedSwarm(t *testing.T) {
	arm := os.Getenv("DSWARM_ARM_NODE")
	if arm == "" {
		t.Skip("the test swarm has no aarch64 node (brought up with DSWARM_ARM_NODE=0)")
	}
	docker := func(args ...string) {
		t.Helper()
		out, err := exec.Command("docker", args...).CombinedOutput()
		require.NoError(t, err, "docker %v: %s", args, out)
	}
	docker("node", "update", "--availability", "active", arm)
	t.Cleanup(func() { _ = exec.Command("docker", "node", "update", "--availability", "drain", arm).Run() })
	// Each job starts with no learnt speeds, so the aarch64 node gets its
	// first small segment, and earlier tests' speeds do not steer this one.
	speeds := filepath.Join(storage, "speeds.json")
	forget := func() { require.NoError(t, removeIfExists(speeds)) }
	forget()
	t.Cleanup(func() { _ = removeIfExists(speeds) })
	src := testmedia.Generate(t, mixedClip)

	t.Run("nodes show both architectures with their images", func(t *testing.T) {
		nodes := listNodes(t)
		require.Contains(t, nodes, arm)
		a := nodes[arm]
		assert.Equal(t, "aarch64", a.Arch)
		assert.True(t, a.Image, "the arm64 image on %s", arm)
		assert.Equal(t, "linux/arm64/v8", a.ImagePlatform)
		assert.True(t, a.Eligible, a.Reason)
		for _, n := range clusterNodes {
			assert.Equal(t, "x86_64", nodes[n].Arch, n)
			assert.Equal(t, "linux/amd64", nodes[n].ImagePlatform, n)
			assert.True(t, nodes[n].Eligible, n)
		}
	})

	t.Run("lossless across architectures is frame-exact", func(t *testing.T) {
		forget()
		out := filepath.Join(t.TempDir(), "out.mkv")
		sum := transcodeSwarm(t, src, out, "1s", "-c:v", "ffv1")
		assertFrameExact(t, src, out)
		counts := nodeCounts(sum)
		t.Logf("%d segments by node: %v", sum.Segments, counts)
		arches := placementArches(sum)
		assert.Equal(t, "aarch64", arches[arm])
		for _, n := range clusterNodes {
			assert.Equal(t, "x86_64", arches[n], n)
		}
		assert.Positive(t, counts[arm], "a segment ran on the aarch64 node")
		assert.Positive(t, counts["dswarm-node1"]+counts["dswarm-node2"]+counts["dswarm-node3"], "segments ran on x86_64 nodes")
		assertNoServices(t)
	})

	t.Run("x264 joins between architectures show no dip, and the emulated node learns slow", func(t *testing.T) {
		forget()
		out := filepath.Join(t.TempDir(), "out.mp4")
		sum := transcodeSwarm(t, src, out, "1s", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-threads", "1")
		require.Equal(t, sum.SourceFrames, sum.OutputFrames)
		counts := nodeCounts(sum)
		t.Logf("%d segments by node: %v", sum.Segments, counts)
		require.Positive(t, counts[arm], "a segment ran on the aarch64 node")
		arches := placementArches(sum)
		speed := map[string]float64{}
		for _, p := range eligible(sum) {
			speed[p.Node] = p.LearntSpeed
			t.Logf("%s (%s): ran %d, learnt speed %.1f; %s", p.Node, p.Arch, p.Ran, p.LearntSpeed, p.Reason)
		}
		for _, n := range []string{"dswarm-node1", "dswarm-node2"} {
			assert.Less(t, speed[arm], speed[n], "the emulated node learns slower than %s: %v", n, speed)
			assert.Less(t, counts[arm], counts[n], "the emulated node gets less than %s", n)
		}

		psnr := framePSNR(t, out, src)
		require.Len(t, psnr, sum.SourceFrames)
		sorted := append([]float64(nil), psnr...)
		sort.Float64s(sorted)
		low := sorted[len(sorted)/20] // the 5th percentile of the whole file
		segs := append([]job.SegmentSummary(nil), sum.SegmentTimings...)
		sort.Slice(segs, func(i, j int) bool { return segs[i].Index < segs[j].Index })
		mixed := 0
		frame := 0
		for k := 1; k < len(segs); k++ {
			frame += segs[k-1].Frames
			if arches[segs[k-1].Node] == arches[segs[k].Node] {
				continue
			}
			mixed++
			worst := math.Inf(1)
			for f := max(frame-2, 0); f <= min(frame+2, len(psnr)-1); f++ {
				worst = math.Min(worst, psnr[f])
			}
			t.Logf("join at frame %d (%s -> %s): worst %.2f dB, file's 5th percentile %.2f dB", frame, segs[k-1].Node, segs[k].Node, worst, low)
			assert.GreaterOrEqual(t, worst, low-0.5, "quality dip at the join at frame %d, %s to %s", frame, segs[k-1].Node, segs[k].Node)
		}
		assert.Positive(t, mixed, "a join between an aarch64 and an x86_64 segment")
		assertNoServices(t)
	})

	image := os.Getenv("DSWARM_IMAGE")
	t.Run("a node without the worker image gets nothing, and distribute puts it back", func(t *testing.T) {
		// The arm64 image stays on the node under the name its archive
		// gives it (docker load of worker-arm64.tar without a tag).
		hostDocker(t, "exec", arm, "docker", "image", "rm", image)
		t.Cleanup(func() {
			// On the host's engine: DOCKER_HOST names the manager.
			hostDocker(t, "exec", arm, "docker", "tag", image+"-arm64", image)
		})
		nodes := listNodes(t)
		assert.False(t, nodes[arm].Image)
		assert.False(t, nodes[arm].Eligible)
		assert.Contains(t, nodes[arm].Reason, "no "+image+" for aarch64")

		forget()
		out := filepath.Join(t.TempDir(), "out.mkv")
		sum := transcodeSwarm(t, src, out, "1s", "-c:v", "ffv1")
		assertFrameExact(t, src, out)
		assert.Zero(t, nodeCounts(sum)[arm], "nothing on the node without the image")
		found := false
		for _, p := range sum.Placement {
			if p.Node == arm {
				found = true
				assert.Zero(t, p.Ran)
				assert.Contains(t, p.Reason, "not eligible: no "+image+" for aarch64")
			}
		}
		assert.True(t, found, "the summary names %s and why it got nothing", arm)

		dir := filepath.Join(storage, "images")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		hostDocker(t, "save", "-o", filepath.Join(dir, "worker-arm64.tar"), image+"-arm64")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		code, stdout, stderr := dswarm(t, ctx, "images", "distribute", "--json")
		t.Logf("distribute: %s", stdout)
		var res []struct {
			Node, Arch, Did, Error string
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &res), stderr)
		byNode := map[string]string{}
		for _, r := range res {
			byNode[r.Node] = r.Did + r.Error
		}
		assert.Contains(t, byNode[arm], "loaded ", "distribute onto %s", arm)
		assert.Contains(t, byNode[arm], "(linux/arm64/v8)")
		for _, n := range clusterNodes {
			assert.Contains(t, byNode[n], "no image archive for x86_64", n)
		}
		assert.Equal(t, 1, code, "the x86 nodes had no archive: %s", stderr)
		nodes = listNodes(t)
		assert.True(t, nodes[arm].Image, "the image is back on %s", arm)
		assert.True(t, nodes[arm].Eligible, nodes[arm].Reason)
		assert.Equal(t, "linux/arm64/v8", nodes[arm].ImagePlatform)
		assertNoServices(t)
	})
}

// placementArches is each node's architecture, as the summary reports it.
func placementArches(sum job.Summary) map[string]string {
	out := map[string]string{}
	for _, p := range sum.Placement {
		out[p.Node] = p.Arch
	}
	return out
}

// framePSNR is each frame's PSNR (dB) of out against src.
func framePSNR(t *testing.T, out, src string) []float64 {
	t.Helper()
	// The stats file is named relative to a folder of its own: a test's
	// folder may hold characters the filter graph parser takes for its own.
	dir := t.TempDir()
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", out, "-i", src,
		"-lavfi", "[0:v][1:v]psnr=stats_file=psnr.txt", "-f", "null", "-")
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	text, err := os.ReadFile(filepath.Join(dir, "psnr.txt"))
	require.NoError(t, err)
	var v []float64
	for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		for _, f := range strings.Fields(line) {
			if s, ok := strings.CutPrefix(f, "psnr_avg:"); ok {
				p, err := strconv.ParseFloat(s, 64)
				if err != nil {
					p = 99 // inf: identical
				}
				v = append(v, p)
			}
		}
	}
	return v
}

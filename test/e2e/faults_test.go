//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

func workerImage() string {
	if v := os.Getenv("DSWARM_IMAGE"); v != "" {
		return v
	}
	return "dswarm/worker:latest"
}

// TestRetryOnAnotherNode breaks ffmpeg on node3 for real (its copy of the
// worker image gets an ffmpeg that always fails) and checks that the
// segments planned there are retried on other nodes and the job still comes
// out frame-exact.
func TestRetryOnAnotherNode(t *testing.T) {
	image := workerImage()
	good := hostDocker(t, "exec", "dswarm-node3", "docker", "image", "inspect", "-f", "{{.Id}}", image)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ffmpeg"), []byte("#!/bin/sh\necho 'ffmpeg: injected failure on this node' >&2\nexit 1\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+image+"\nCOPY ffmpeg /usr/bin/ffmpeg\n"), 0o644))
	hostDocker(t, "build", "-q", "-t", "dswarm/worker:broken", dir)
	save := exec.Command("sh", "-c", "docker save dswarm/worker:broken | docker exec -i dswarm-node3 docker load -q")
	save.Env = withoutEnv(os.Environ(), "DOCKER_HOST")
	out, err := save.CombinedOutput()
	require.NoError(t, err, string(out))
	hostDocker(t, "exec", "dswarm-node3", "docker", "tag", "dswarm/worker:broken", image)
	t.Cleanup(func() { hostDocker(t, "exec", "dswarm-node3", "docker", "tag", good, image) })

	src := testmedia.Generate(t, testmedia.SingleKeyframe)
	outFile := filepath.Join(t.TempDir(), "out.mkv")
	sum := transcodeSwarm(t, src, outFile, "0.5s", "-c:v", "ffv1")
	assertFrameExact(t, src, outFile)
	retried := 0
	for _, s := range sum.SegmentTimings {
		assert.NotEqual(t, "dswarm-node3", s.Node, "segment %d finished on the broken node", s.Index)
		if s.Attempts > 1 {
			retried++
		}
	}
	assert.Positive(t, retried, "segments planned on node3 were retried elsewhere")
	t.Logf("%d segments, %d retried; by node: %v", sum.Segments, retried, nodeCounts(sum))
	assertNoServices(t)
}

// segmentFFmpeg matches a segment encode's command line: it writes the
// segment's file (job/encode.go names them seg-NNNNN.nut).
var segmentFFmpeg = regexp.MustCompile(`seg-\d{5}\.nut`)

// TestNodeLossMidJob kills a worker node's container while a job runs and
// checks that its segments run again elsewhere and the job completes
// frame-exact. The node is started again before the tests after it, and
// counted back only when its engine starts a container (restartNode).
func TestNodeLossMidJob(t *testing.T) {
	src := testmedia.Generate(t, testmedia.SingleKeyframe)
	outFile := filepath.Join(t.TempDir(), "out.mkv")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "transcode", "--swarm", "--json", "-q", "--segment-duration", "0.4s", src, "-o", outFile, "-c:v", "ffv1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())

	// Wait until node2 runs one of the job's segments, then kill it. The
	// segment's ffmpeg is looked for in the node's processes: a segment
	// handed to a pre-started standby runs under the standby's service
	// name, not a "-seg-" one.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := tryHostDocker("exec", "dswarm-node2", "pgrep", "-af", "ffmpeg")
		if segmentFFmpeg.MatchString(out) {
			break
		}
		require.True(t, time.Now().Before(deadline), "no segment ever ran on node2; its ffmpeg processes: %q", out)
		time.Sleep(200 * time.Millisecond)
	}
	hostDocker(t, "kill", "dswarm-node2")
	t.Cleanup(func() { restartNode(t, "dswarm-node2") })
	killedAt := time.Now()

	err := cmd.Wait()
	require.NoError(t, err, "stderr: %s", stderr.String())
	var sum job.Summary
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &sum), stdout.String())
	assertFrameExact(t, src, outFile)
	retried := 0
	for _, s := range sum.SegmentTimings {
		if s.Attempts > 1 {
			retried++
		}
	}
	assert.Positive(t, retried, "the segment running on node2 ran again elsewhere")
	t.Logf("job done %.1fs after the kill; %d segments, %d retried; by node: %v", time.Since(killedAt).Seconds(), sum.Segments, retried, nodeCounts(sum))
	assertNoServices(t)
}

// restartNode starts a killed node container again and waits until the
// swarm has it Ready and its engine starts a container, so that later tests
// find every node able to work. Docker-in-docker does not always come back
// whole from a kill: once dockerd gave up at once ("failed to open containerd
// config file ... not a directory"), once it came up Ready with a containerd
// that had no task service ("unknown service
// containerd.services.tasks.v1.Tasks: not implemented"). A node that stopped
// or cannot start a container three times running is restarted, up to three
// starts in all.
func restartNode(t *testing.T, node string) {
	hostDocker(t, "start", node)
	deadline := time.Now().Add(120 * time.Second)
	starts, failed := 1, 0
	for {
		state, _ := exec.Command("docker", "node", "inspect", "-f", "{{.Status.State}}", node).CombinedOutput()
		ready := strings.TrimSpace(string(state)) == "ready"
		var broken string
		if ready {
			out, err := tryHostDocker("exec", node, "docker", "run", "--rm", "--network", "none", "--entrypoint", "true", workerImage())
			if err == nil {
				return
			}
			broken = out
			failed++
		}
		running, _ := tryHostDocker("inspect", "-f", "{{.State.Running}}", node)
		stopped := running == "false"
		if (stopped || failed >= 3) && starts < 3 {
			logs, _ := tryHostDocker("logs", "--tail", "3", node)
			t.Logf("%s is not whole after its restart (stopped %v, container start: %q); restarting it. Its log:\n%s", node, stopped, broken, logs)
			hostDocker(t, "restart", "--time", "5", node)
			starts, failed = starts+1, 0
		}
		if time.Now().After(deadline) {
			logs, _ := tryHostDocker("logs", "--tail", "20", node)
			t.Fatalf("%s cannot start a container 120 s after its restart (state %q, container start: %q); its log:\n%s", node, strings.TrimSpace(string(state)), broken, logs)
		}
		time.Sleep(time.Second)
	}
}

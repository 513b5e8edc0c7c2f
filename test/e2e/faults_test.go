//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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

// TestNodeLossMidJob kills a worker node's container while a job runs and
// checks that its segments run again elsewhere and the job completes
// frame-exact. It runs last: the node is started again, but its rejoin is
// not waited for.
func TestNodeLossMidJob(t *testing.T) {
	src := testmedia.Generate(t, testmedia.SingleKeyframe)
	outFile := filepath.Join(t.TempDir(), "out.mkv")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "transcode", "--swarm", "--json", "-q", "--segment-duration", "0.4s", src, "-o", outFile, "-c:v", "ffv1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())

	// Wait until node2 runs one of the job's segments, then kill it.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := exec.Command("docker", "node", "ps", "dswarm-node2", "--format", "{{.Name}} {{.CurrentState}}").CombinedOutput()
		running := false
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "-seg-") && strings.Contains(line, "Running") {
				running = true
			}
		}
		if running {
			break
		}
		require.True(t, time.Now().Before(deadline), "no task ever ran on node2: %s", out)
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
// swarm has it Ready, so that later tests find every node. A node whose
// dockerd gave up at once (docker-in-docker after a kill: once "failed to
// open containerd config file ... not a directory") is started again, up
// to three times.
func restartNode(t *testing.T, node string) {
	hostDocker(t, "start", node)
	deadline := time.Now().Add(90 * time.Second)
	starts := 1
	for {
		out, _ := exec.Command("docker", "node", "inspect", "-f", "{{.Status.State}}", node).CombinedOutput()
		if strings.TrimSpace(string(out)) == "ready" {
			return
		}
		running, _ := exec.Command("docker", "--host", "unix:///var/run/docker.sock", "inspect", "-f", "{{.State.Running}}", node).Output()
		if strings.TrimSpace(string(running)) == "false" && starts < 3 {
			logs, _ := exec.Command("docker", "--host", "unix:///var/run/docker.sock", "logs", "--tail", "3", node).CombinedOutput()
			t.Logf("%s stopped again after its restart; starting it once more. Its log:\n%s", node, logs)
			hostDocker(t, "start", node)
			starts++
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "--host", "unix:///var/run/docker.sock", "logs", "--tail", "20", node).CombinedOutput()
			t.Fatalf("%s is not ready again 90 s after its restart (state %q); its log:\n%s", node, strings.TrimSpace(string(out)), logs)
		}
		time.Sleep(time.Second)
	}
}

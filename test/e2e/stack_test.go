//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/server"
)

const stackToken = "e2e-stack-token-0123456789"

// stackLadderClip is 20 s of 320x240 (two encode tasks) with two audio tracks and SRT
// subtitles, for a ladder through the scheduler.
var stackLadderClip = testmedia.Spec{Name: "stack-ladder-tracks.mkv", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=20",
	"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=20", "-f", "lavfi", "-i", "sine=f=880:sample_rate=48000:d=20",
	"-f", "srt", "-i", testmedia.SRTFile(),
	"-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s",
	"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac", "-c:s", "srt"}}

// deployStack deploys docker-compose.swarm.yml on the test swarm, as a user
// would, and waits for the scheduler to answer. It removes the stack at
// the end of the test.
func deployStack(t *testing.T) *server.Client {
	t.Helper()
	manager := os.Getenv("DSWARM_MANAGER_ADDR")
	require.NotEmpty(t, manager, "DSWARM_MANAGER_ADDR (from .cluster/env)")
	secret := exec.Command("docker", "secret", "create", "dswarm_token", "-")
	secret.Stdin = strings.NewReader(stackToken)
	out, err := secret.CombinedOutput()
	require.NoError(t, err, "%s", out)
	deploy := exec.Command("docker", "stack", "deploy", "--resolve-image", "never", "-c", "../../docker-compose.swarm.yml", "dswarm")
	deploy.Env = append(os.Environ(), "DSWARM_MAX_UPLOAD=64MiB")
	out, err = deploy.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() {
		out, err := exec.Command("docker", "stack", "rm", "dswarm").CombinedOutput()
		assert.NoError(t, err, "%s", out)
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			if err := exec.Command("docker", "secret", "rm", "dswarm_token").Run(); err == nil {
				break
			}
			time.Sleep(time.Second) // the secret is in use until the task is gone
		}
		assertNoServices(t)
		// The scheduler's uploads, outputs and records: the storage is as
		// the other tests expect it.
		for _, d := range []string{"upload", "download", "tmp", "jobs"} {
			entries, _ := os.ReadDir(filepath.Join(storage, d))
			for _, e := range entries {
				os.RemoveAll(filepath.Join(storage, d, e.Name()))
			}
		}
	})
	c := &server.Client{URL: "http://" + manager + ":8090", Token: stackToken}
	waitHealthy(t, c, 120*time.Second)
	return c
}

func waitHealthy(t *testing.T, c *server.Client, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(c.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			ps, _ := exec.Command("docker", "service", "ps", "--no-trunc", "dswarm_scheduler").CombinedOutput()
			logs, _ := exec.Command("docker", "service", "logs", "--tail", "30", "dswarm_scheduler").CombinedOutput()
			t.Fatalf("scheduler at %s not healthy within %s: %v\n%s\n%s", c.URL, within, err, ps, logs)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// jobServices lists the dswarm services of one job.
func jobServices(t *testing.T, id string) []string {
	out, err := exec.Command("docker", "service", "ls", "--filter", "label=dswarm.job="+id, "--format", "{{.Name}}").Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// waitDone polls a job through restarts of the scheduler (connection
// errors are retried) until it ends.
func waitDone(t *testing.T, c *server.Client, id string, within time.Duration) *server.Record {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		rec, err := c.Job(context.Background(), id)
		if err == nil && rec.Final() {
			return rec
		}
		require.True(t, time.Now().Before(deadline), "job %s not done within %s (last: %v %v)", id, within, rec, err)
		time.Sleep(500 * time.Millisecond)
	}
}

// TestStack deploys the stack and drives the scheduler through its API:
// a CLI transcode, refusals, three jobs at once, and a scheduler killed
// mid-job.
func TestStack(t *testing.T) {
	c := deployStack(t)
	ctx := context.Background()

	t.Run("cli transcode through the API is frame-exact", func(t *testing.T) {
		src := testmedia.Generate(t, testmedia.H264Pyramid)
		out := filepath.Join(t.TempDir(), "out.mkv")
		cmd := exec.Command(bin, "transcode", "--json", "-q", src, "-o", out, "-c:v", "ffv1")
		cmd.Env = append(os.Environ(), "DSWARM_SERVER="+c.URL, "DSWARM_TOKEN="+stackToken)
		stdout, err := cmd.Output()
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		require.NoError(t, err, stderr)
		assert.Contains(t, string(stdout), `"executor": "swarm"`)
		assertFrameExact(t, src, out)
	})

	t.Run("refusals", func(t *testing.T) {
		text := filepath.Join(t.TempDir(), "notes.mp4")
		require.NoError(t, os.WriteFile(text, []byte("not a video\n"), 0o644))
		big := filepath.Join(t.TempDir(), "big.mp4")
		require.NoError(t, os.WriteFile(big, make([]byte, 65<<20), 0o644))
		check := func(err error, status int, msg string) {
			t.Helper()
			require.Error(t, err)
			assert.Equal(t, status, server.StatusOf(err), err.Error())
			assert.Contains(t, err.Error(), msg)
		}
		_, err := (&server.Client{URL: c.URL}).Jobs(ctx)
		check(err, 401, "no API token")
		_, err = (&server.Client{URL: c.URL, Token: "wrong"}).Jobs(ctx)
		check(err, 401, "wrong API token")
		_, err = c.Submit(ctx, server.SubmitRequest{Input: "../../etc/passwd"})
		check(err, 400, "relative path inside the shared storage")
		_, err = c.Submit(ctx, server.SubmitRequest{Input: "upload/x.mp4", Output: "../../x.mkv"})
		check(err, 400, "plain file name")
		_, err = c.Upload(ctx, text)
		check(err, 400, "not a video file")
		_, err = c.Upload(ctx, big)
		check(err, 413, "over the limit")
		src := testmedia.Generate(t, testmedia.H264Pyramid)
		path, err := c.Upload(ctx, src)
		require.NoError(t, err)
		_, err = c.Submit(ctx, server.SubmitRequest{Input: path, Options: []string{"-c:v", "libx264", "-x264-params", "stats=/etc/x"}})
		check(err, 400, "another file")
		_, err = c.Job(ctx, "no-such-job")
		check(err, 404, "no such job")
		entries, _ := os.ReadDir(filepath.Join(storage, "upload"))
		for _, e := range entries {
			assert.NotContains(t, e.Name(), "notes", "refused upload left behind")
			assert.NotContains(t, e.Name(), "big", "refused upload left behind")
		}
	})

	t.Run("three jobs at once", func(t *testing.T) {
		specs := []testmedia.Spec{testmedia.H264Pyramid, testmedia.MPEG2OpenGOP, testmedia.SingleKeyframe}
		ids := make([]string, len(specs))
		var wg sync.WaitGroup
		for i, spec := range specs {
			src := testmedia.Generate(t, spec)
			wg.Add(1)
			go func() {
				defer wg.Done()
				path, err := c.Upload(ctx, src)
				if !assert.NoError(t, err) {
					return
				}
				rec, err := c.Submit(ctx, server.SubmitRequest{Input: path, Output: fmt.Sprintf("three-%d.mkv", i), Options: []string{"-c:v", "ffv1"}})
				if assert.NoError(t, err) {
					ids[i] = rec.ID
				}
			}()
		}
		wg.Wait()
		for i, id := range ids {
			require.NotEmpty(t, id)
			rec := waitDone(t, c, id, 5*time.Minute)
			require.Equal(t, server.StateDone, rec.State, rec.Error)
			assertFrameExact(t, testmedia.Generate(t, specs[i]), filepath.Join(storage, "download", rec.Output))
			assert.Empty(t, jobServices(t, id))
		}
	})

	t.Run("ladder with two audio tracks and subtitles through the API", func(t *testing.T) {
		src := testmedia.Generate(t, stackLadderClip)
		path, err := c.Upload(ctx, src)
		require.NoError(t, err)
		rec, err := c.Submit(ctx, server.SubmitRequest{Input: path, Ladder: "240p:400k,144p:150k", Options: []string{"-preset", "veryfast"}})
		require.NoError(t, err)
		// The rungs as the page follows them: between tasks, and at the end.
		var between bool
		fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		last, err := c.Follow(fctx, rec.ID, func(r *server.Record) {
			for _, g := range r.Rungs {
				between = between || g.Checked > 0 && g.Checked < g.Frames
			}
		})
		require.NoError(t, err)
		require.Equal(t, server.StateDone, last.State, last.Error)
		assert.True(t, between, "a rung seen between its first and last task")
		require.Len(t, last.Rungs, 2)
		for _, g := range last.Rungs {
			assert.Equal(t, int64(500), g.Frames, g.Name)
			assert.Equal(t, g.Frames, g.Checked, g.Name)
		}
		sum := last.LadderSummary
		require.NotNil(t, sum)
		assert.Equal(t, "swarm", sum.Executor)
		assert.Len(t, sum.Audio, 2, "both audio tracks")
		assert.Len(t, sum.Subtitles, 1, "the text subtitles as WebVTT")
		for _, r := range sum.Rungs {
			assert.Equal(t, 500, r.Frames, r.Name)
		}
		dir := filepath.Join(storage, "download", last.Output)
		for _, f := range append([]string{"master.m3u8", "manifest.mpd"}, sum.Subtitles...) {
			_, err := os.Stat(filepath.Join(dir, f))
			assert.NoError(t, err, f)
		}
		req, err := http.NewRequest("GET", c.URL+"/api/v1/jobs/"+last.ID+"/files/master.m3u8", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+stackToken)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, 200, res.StatusCode, "the scheduler serves the ladder's playlist")
		assert.Empty(t, jobServices(t, last.ID))
	})

	t.Run("scheduler killed mid-job", func(t *testing.T) {
		src := testmedia.Generate(t, testmedia.Busy)
		path, err := c.Upload(ctx, src)
		require.NoError(t, err)
		rec, err := c.Submit(ctx, server.SubmitRequest{Input: path, Output: "killed.mp4", Options: []string{"-c:v", "libx264", "-preset", "medium", "-threads", "1"}})
		require.NoError(t, err)
		// Wait for a few segments to be done while others run.
		var before *server.Record
		deadline := time.Now().Add(3 * time.Minute)
		for {
			before, err = c.Job(ctx, rec.ID)
			require.NoError(t, err)
			if before.Count("done") >= 3 && before.Count("running") >= 1 {
				break
			}
			require.False(t, before.Final(), "job ended before the kill: %s %s", before.State, before.Error)
			require.True(t, time.Now().Before(deadline), "segments never got going")
			time.Sleep(200 * time.Millisecond)
		}
		id := strings.TrimSpace(managerDocker(t, "ps", "-q", "--filter", "label=com.docker.swarm.service.name=dswarm_scheduler"))
		require.NotEmpty(t, id, "the scheduler's container on the manager")
		managerDocker(t, "kill", id)
		killedAt := time.Now()
		t.Logf("killed the scheduler with %d segments done", before.Count("done"))

		after := waitDone(t, c, rec.ID, 5*time.Minute)
		t.Logf("job done %.1fs after the kill; resumed %d", time.Since(killedAt).Seconds(), after.Resumed)
		require.Equal(t, server.StateDone, after.State, after.Error)
		assert.Equal(t, 1, after.Resumed)
		for _, s := range before.Segments {
			if s.State == "done" {
				got := after.Segments[s.Index]
				assert.True(t, got.Reused, "segment %d was done before the kill: kept, not re-run", s.Index)
				assert.Equal(t, s.Node, got.Node)
				assert.Equal(t, 1, got.Attempts)
			}
		}
		assert.Equal(t, after.Summary.SourceFrames, after.Summary.OutputFrames)
		assertFrameCount(t, filepath.Join(storage, "download", "killed.mp4"), 750)
		assert.Empty(t, jobServices(t, rec.ID), "no service of the job is left")
		entries, _ := os.ReadDir(filepath.Join(storage, "download"))
		n := 0
		for _, e := range entries {
			if strings.Contains(e.Name(), "killed") {
				n++
			}
		}
		assert.Equal(t, 1, n, "exactly one output, no partial file")
	})
}

// managerDocker runs docker inside the manager node's engine.
func managerDocker(t *testing.T, args ...string) string {
	t.Helper()
	return hostDocker(t, append([]string{"exec", os.Getenv("DSWARM_MANAGER"), "docker"}, args...)...)
}

func assertFrameCount(t *testing.T, path string, want int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-select_streams", "v:0", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(want), strings.TrimSpace(string(out)))
}

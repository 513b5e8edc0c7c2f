package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
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
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/server"
)

// localScheduler is a scheduler whose jobs run as ffmpeg processes here
// (the swarm-backed one is tested on the docker-in-docker swarm).
func localScheduler(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, nfs.Layout{Root: root}.Create())
	s, err := server.New(server.Options{Root: root, Token: "tok", MaxJobs: 2,
		Run: func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error) {
			cfg.Workers, cfg.SegmentDuration = 2, time.Second
			return job.Run(ctx, cfg, job.Local{Hostname: "here"})
		},
		RunLadder: func(ctx context.Context, cfg job.LadderConfig, resume bool) (*job.LadderSummary, error) {
			cfg.Workers = 2
			return job.RunLadder(ctx, cfg, job.Local{Hostname: "here"})
		}})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.Start(ctx)
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	t.Setenv("DSWARM_SERVER", hs.URL)
	t.Setenv("DSWARM_TOKEN", "tok")
	return hs.URL
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestTranscodeThroughScheduler: with no --local/--swarm the CLI uploads,
// follows, downloads; the output is frame-exact and the --json summary is
// the scheduler's. dswarm jobs / job / cancel show and act on it.
func TestTranscodeThroughScheduler(t *testing.T) {
	localScheduler(t)
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	out := filepath.Join(t.TempDir(), "out.mkv")
	code, stdout, stderr := runCLI(t, "transcode", "-q", "--json", src, "-o", out, "-c:v", "ffv1")
	require.Equal(t, 0, code, stderr)
	sum := summaryOf(t, stdout)
	assert.Equal(t, out, sum.Output)
	assert.Equal(t, sum.SourceFrames, sum.OutputFrames)
	assert.Equal(t, testmedia.FrameHashes(t, src, "yuv420p"), testmedia.FrameHashes(t, out, "yuv420p"))

	code, stdout, stderr = runCLI(t, "jobs")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, sum.JobID)
	assert.Contains(t, stdout, "done")
	code, stdout, stderr = runCLI(t, "job", sum.JobID)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "job "+sum.JobID+": done")
	assert.Contains(t, stdout, "here", "segments name their node")
	code, _, stderr = runCLI(t, "cancel", sum.JobID)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "done already (HTTP 409)")
	code, _, stderr = runCLI(t, "job", "nope")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "job nope: no such job (HTTP 404)")

	// A refused option is refused before the upload, in one line (the
	// scheduler's own refusal is server.TestHostileOptionsThroughAPI).
	code, _, stderr = runCLI(t, "transcode", "-q", src, "-o", filepath.Join(t.TempDir(), "x.mkv"), "-c:v", "ffv1", "-passlogfile", "/tmp/x")
	assert.Equal(t, 1, code)
	assert.Equal(t, "dswarm: option -passlogfile: not supported by dswarm: writes another file\n", stderr)
}

func TestTranscodeWithoutScheduler(t *testing.T) {
	t.Setenv("DSWARM_SERVER", "")
	code, _, stderr := runCLI(t, "transcode", "in.mp4", "-c:v", "ffv1")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no scheduler: give --server URL or set $DSWARM_SERVER (or run the job directly with --local or --swarm)")
}

// TestLadderThroughScheduler: --ladder with no --local/--swarm uploads,
// follows, and copies the verified folder to -o; a spec file goes as one
// line; every file the scheduler made arrives, and nothing else is left
// beside -o.
func TestLadderThroughScheduler(t *testing.T) {
	localScheduler(t)
	src := testmedia.Generate(t, ladderSource)
	dir := t.TempDir()
	spec := filepath.Join(dir, "rungs.txt")
	require.NoError(t, os.WriteFile(spec, []byte("# two rungs\n360p:800k\n180p:250k # small\n"), 0o644))
	out := filepath.Join(dir, "movie.ladder")
	code, stdout, stderr := runCLI(t, "transcode", "-q", "--json", src, "-o", out, "--ladder", spec, "--segment-duration", "2s", "-preset", "veryfast")
	require.Equal(t, 0, code, stderr)
	var sum job.LadderSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum), stdout)
	assert.Equal(t, out, sum.Output)
	require.Len(t, sum.Rungs, 2)
	assert.Equal(t, 8, sum.PackagedSegments, "2 s segments, as asked")
	for _, r := range sum.Rungs {
		assert.Equal(t, 400, r.Frames, r.Name)
		n, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
			"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", filepath.Join(out, r.Playlist)).Output()
		require.NoError(t, err, r.Playlist)
		assert.Equal(t, "400", strings.Fields(string(n))[0], "rung %s through its copied playlist", r.Name)
	}
	for _, f := range []string{job.LadderMaster, job.LadderManifest, job.LadderSprite, job.LadderThumbs} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err, f)
		assert.Positive(t, st.Size(), f)
	}
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), st.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"rungs.txt", "movie.ladder"}, names, "no hidden download folder left")

	code, _, stderr = runCLI(t, "transcode", "-q", src, "-o", out, "--ladder", "180p:250k")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already exists (pass --overwrite to replace it)")
	code, _, stderr = runCLI(t, "transcode", "-q", src, "-o", filepath.Join(dir, "x.ladder"), "--ladder", "180p:250k", "--thumbnails", "5s")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "--thumbnails 5s: the scheduler makes a thumbnail every 2s")
	code, _, stderr = runCLI(t, "transcode", "-q", src, "-o", filepath.Join(dir, "x.ladder"), "--ladder", "180p:250k", "-crf", "20")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "option -crf: each rung has its own bitrate", "refused before the upload")
}

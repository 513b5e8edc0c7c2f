//go:build e2e

package e2e

import (
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

// ladderClip is the swarm ladder's source: 60 s of 360p and a tone.
var ladderClip = testmedia.Spec{Name: "swarm-ladder-360p-60s.mp4", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=60", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=60",
	"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac"}}

// TestSwarmLadder: `--ladder` with `--swarm` encodes the four rungs of 60 s
// as services on the nodes, packages HLS and DASH on one of them, verifies,
// and moves the folder to -o (here outside the shared storage, another
// place than where the tasks wrote it); the job's folder and services are
// gone afterwards.
func TestSwarmLadder(t *testing.T) {
	src := testmedia.Generate(t, ladderClip)
	dir := t.TempDir()
	out := filepath.Join(dir, "ladder")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	code, stdout, stderr := dswarm(t, ctx, "transcode", "--swarm", "--json", "-q", src, "-o", out,
		"--ladder", "360p:800k,270p:500k,180p:250k,144p:150k", "--segment-duration", "2s", "-preset", "veryfast")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var sum job.LadderSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum), stdout)
	assert.Equal(t, "swarm", sum.Executor)
	require.Len(t, sum.Rungs, 4)
	assert.Equal(t, 1500, sum.SourceFrames)
	assert.Equal(t, 30, sum.PackagedSegments)
	for _, r := range sum.Rungs {
		assert.Equal(t, 1500, r.Frames, "rung %s", r.Name)
		assert.InDelta(t, 0, r.BitrateError, 0.05, "rung %s: %.0f bit/s against %d", r.Name, r.Bitrate, r.TargetBitrate)
	}
	nodes := map[string]int{}
	for _, task := range sum.Tasks {
		nodes[task.Node]++
	}
	t.Logf("%d tasks by node: %v; %.1f s", len(sum.Tasks), nodes, sum.WallSeconds)
	assert.GreaterOrEqual(t, len(nodes), 2, "tasks on several nodes: %v", nodes)

	for _, m := range []string{job.LadderMaster, job.LadderManifest} {
		_, err := os.Stat(filepath.Join(out, m))
		assert.NoError(t, err, m)
	}
	// The player's view: every frame of each rung through its playlist,
	// and the same segment durations in every variant playlist (players
	// switch rungs at segment boundaries).
	var first []string
	for _, r := range sum.Rungs {
		text, err := os.ReadFile(filepath.Join(out, r.Playlist))
		require.NoError(t, err)
		var durations []string
		for _, l := range strings.Split(string(text), "\n") {
			if d, ok := strings.CutPrefix(l, "#EXTINF:"); ok {
				durations = append(durations, d)
			}
		}
		assert.Len(t, durations, 30, r.Playlist)
		if first == nil {
			first = durations
		}
		assert.Equal(t, first, durations, "rung %s cuts where the first rung does", r.Name)
		b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
			"-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", filepath.Join(out, r.Playlist)).Output()
		require.NoError(t, err, r.Playlist)
		// HLS is read as a program: its stream is listed under it and alone.
		counts := strings.Fields(string(b))
		require.NotEmpty(t, counts, r.Playlist)
		assert.Equal(t, "1500", counts[0], "rung %s through %s", r.Name, r.Playlist)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing but the folder beside it")
	left, _ := filepath.Glob(filepath.Join(storage, "tmp", ".dswarm-"+sum.JobID+"*"))
	assert.Empty(t, left, "the job's folder on the storage is removed")
	assertNoServices(t)
}

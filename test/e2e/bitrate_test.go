//go:build e2e

package e2e

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// TestSwarmBitrate: a bitrate target through the swarm runs the
// distributed two-pass: analysis tasks, then every segment at its share,
// with the encoder's stats files on the shared storage between nodes; the
// file's video bitrate is within 3 % of the target. x265 names its stats
// file inside -x265-params, where the path must be the nodes' view of the
// storage too (the test swarm's differs from this machine's).
func TestSwarmBitrate(t *testing.T) {
	src := testmedia.Generate(t, testmedia.Lossy)
	for _, tc := range []struct {
		name string
		opts []string
	}{
		{"libx264", []string{"-c:v", "libx264", "-preset", "veryfast", "-b:v", "400k"}},
		{"libx265", []string{"-c:v", "libx265", "-preset", "ultrafast", "-b:v", "400k", "-x265-params", "log-level=error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mp4")
			sum := transcodeSwarm(t, src, out, "2s", tc.opts...)
			require.NotNil(t, sum.Bitrate)
			assert.Equal(t, "two-pass", sum.Bitrate.Method)
			assert.Equal(t, sum.SourceFrames, sum.OutputFrames)
			assert.GreaterOrEqual(t, len(nodeCounts(sum)), 2, "segments on several nodes: %v", nodeCounts(sum))

			sizes, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=size", "-of", "csv=p=0", out).Output()
			require.NoError(t, err)
			var bytes float64
			for _, f := range strings.Fields(string(sizes)) {
				v, err := strconv.ParseFloat(strings.Trim(f, ","), 64)
				require.NoError(t, err)
				bytes += v
			}
			got := bytes * 8 / sum.OutputDuration
			assert.InDelta(t, 1, got/400e3, 0.03, "video bitrate %.0f against 400k", got)
			t.Logf("%s two-pass on the swarm: %.0f b/s (%.2f%% off), %d segments on %v", tc.name, got, 100*(got/400e3-1), sum.Segments, nodeCounts(sum))
			assertNoServices(t)
		})
	}
}

package main

import (
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// framePSNR returns the PSNR (dB, averaged over planes) of every frame of
// a against the same frame of b, matched by position, not timestamp.
func framePSNR(t *testing.T, a, b string) []float64 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", a, "-i", b, "-lavfi",
		"[0:v:0]setpts=N/TB[a];[1:v:0]setpts=N/TB[b];[a][b]psnr=stats_file=-", "-f", "null", "-").Output()
	require.NoError(t, err)
	var ps []float64
	for _, line := range strings.Split(string(out), "\n") {
		for _, field := range strings.Fields(line) {
			v, ok := strings.CutPrefix(field, "psnr_avg:")
			if !ok {
				continue
			}
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsInf(p, 1) {
				p = 100 // identical frame
			}
			ps = append(ps, p)
		}
	}
	return ps
}

// decodedFrames counts the frames a full decode of path yields.
func decodedFrames(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	return n
}

// TestLossyJoins encodes with lossy codecs and checks frame count, sync, and
// that no frame at a join is visibly worse than its neighbours. With a
// bitrate target (the distributed two-pass) the video's bitrate over the
// file is within 3 % of it, and a join frame dips at most 2 dB.
func TestLossyJoins(t *testing.T) {
	src := testmedia.Generate(t, testmedia.Lossy)
	srcFrames := decodedFrames(t, src)
	for _, tc := range []struct {
		name    string
		opts    []string
		bitrate float64 // the target, 0 for none
		method  string
	}{
		{"libx264 crf 23", []string{"-c:v", "libx264", "-crf", "23", "-preset", "veryfast"}, 0, ""},
		{"mpeg4 1M", []string{"-c:v", "mpeg4", "-b:v", "1M"}, 1e6, "two-pass"},
		{"libx264 400k", []string{"-c:v", "libx264", "-preset", "veryfast", "-b:v", "400k"}, 400e3, "two-pass"},
		{"libx265 300k", []string{"-c:v", "libx265", "-preset", "fast", "-b:v", "300k", "-x265-params", "log-level=error"}, 300e3, "two-pass"},
		{"libvpx-vp9 400k", []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"}, 400e3, "analysed"},
		// libvpx's own two-pass: the probe splits, each segment a first pass
		// of its own at its share, then its second.
		{"libvpx-vp9 good 400k", []string{"-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "5", "-b:v", "400k"}, 400e3, "two-pass"},
		{"libsvtav1 400k", []string{"-c:v", "libsvtav1", "-preset", "12", "-b:v", "400k"}, 400e3, "analysed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.mp4")
			args := append([]string{"--local", "--json", "-q", "--segment-duration", "2s", src, "-o", out}, tc.opts...)
			code, stdout, stderr := transcode(t, args...)
			require.Equal(t, 0, code, stderr)
			sum := summaryOf(t, stdout)
			require.GreaterOrEqual(t, sum.Segments, 4)

			assert.Equal(t, srcFrames, decodedFrames(t, out), "decoded frame count")
			assertInSync(t, src, out)
			maxDip := 3.0
			if tc.bitrate > 0 {
				maxDip = 2
				require.NotNil(t, sum.Bitrate)
				assert.Equal(t, tc.method, sum.Bitrate.Method)
				got := videoBitrate(t, out)
				assert.InDelta(t, 1, got/tc.bitrate, 0.03, "video bitrate %.0f against the target %.0f", got, tc.bitrate)
				assert.InDelta(t, got, sum.Bitrate.Video, got*0.005, "the summary's account")
				t.Logf("%s: video %.0f b/s, %.2f%% off the target", tc.name, got, 100*(got/tc.bitrate-1))
			}

			psnr := framePSNR(t, out, src)
			require.Len(t, psnr, srcFrames)
			isJoin := map[int]bool{}
			start := 0
			var joins []int
			for _, seg := range sum.SegmentTimings[:len(sum.SegmentTimings)-1] {
				start += seg.Frames
				joins = append(joins, start)
				isJoin[start-1], isJoin[start] = true, true
			}
			// A join frame must not dip more than 3 dB below the lowest of
			// its eight neighbours (four each side, not join frames): ABR
			// rate control restarts in each segment, so quality may step up
			// after a join, and encoders with hierarchical frames (SVT-AV1)
			// swing several dB from frame to frame anywhere; a step or a
			// swing is not a glitch, a dip below them all is. The step
			// between the sides' means is printed.
			sideMean := func(from, to int) (float64, bool) {
				var sum float64
				var n int
				for k := from; k <= to; k++ {
					if k >= 0 && k < len(psnr) && !isJoin[k] {
						sum += psnr[k]
						n++
					}
				}
				return sum / float64(max(n, 1)), n > 0
			}
			worstStep := 0.0
			for _, j := range joins {
				before, okB := sideMean(j-5, j-2)
				after, okA := sideMean(j+1, j+4)
				require.True(t, okB && okA)
				worstStep = math.Max(worstStep, math.Abs(after-before))
				lowest := math.Inf(1)
				for k := j - 5; k <= j+4; k++ {
					if k >= 0 && k < len(psnr) && !isJoin[k] {
						lowest = math.Min(lowest, psnr[k])
					}
				}
				for _, f := range []int{j - 1, j} {
					assert.GreaterOrEqualf(t, psnr[f], lowest-maxDip, "frame %d at the join before frame %d: %.2f dB, lowest neighbour %.2f dB (side means %.2f/%.2f)", f, j, psnr[f], lowest, before, after)
				}
			}
			t.Logf("%s: largest quality step across a join %.2f dB", tc.name, worstStep)
			t.Logf("%s: %d segments, mean PSNR %.2f dB", tc.name, sum.Segments, mean(psnr))
		})
	}
}

// videoBitrate is the bits per second of path's first video stream: its
// packets' bytes over its duration.
func videoBitrate(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
		"packet=size,pts_time,duration_time", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	var bytes, first, last, lastDur float64
	for i, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		require.Len(t, f, 3, line)
		pts, _ := strconv.ParseFloat(f[0], 64)
		dur, _ := strconv.ParseFloat(f[1], 64)
		size, _ := strconv.ParseFloat(f[2], 64)
		bytes += size
		if i == 0 || pts < first {
			first = pts
		}
		if pts >= last {
			last, lastDur = pts, dur
		}
	}
	return bytes * 8 / (last + lastDur - first)
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

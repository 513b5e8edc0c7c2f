package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// TestDamagedInputs transcodes spliced, wrapping and damaged inputs with
// FFV1 and compares the result with single-pass ffmpeg given the same
// options: the same frames (framemd5 of each, in order) at the same
// resolution. Where a case may be refused, a refusal must be one line that
// names the time of the damage, with no output left behind; it must never
// exit 0 with other frames.
func TestDamagedInputs(t *testing.T) {
	const (
		equal   = "equal"   // must transcode, frame-equal to single-pass
		refused = "refused" // must refuse, naming the time
		either  = "either"  // frame-equal, or refused naming the time
	)
	for _, tc := range []struct {
		name string
		src  func(t *testing.T) string
		want string
		opts []string // more output options, for both
	}{
		{"ts splice: timestamps repeat, another resolution", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-repeat.ts", testmedia.ProgramTS, testmedia.AdTS)
		}, equal, nil},
		{"ts resolution change, timestamps continue", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-continue.ts", testmedia.ProgramTS, testmedia.AdAfterTS)
		}, equal, nil},
		{"ts splice at another resolution, halved by -vf", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-repeat.ts", testmedia.ProgramTS, testmedia.AdTS)
		}, equal, []string{"-vf", "scale=iw/2:ih/2"}},
		{"ts splice back and forth", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-twice.ts", testmedia.ProgramTS, testmedia.AdTS, testmedia.ProgramTS)
		}, equal, nil},
		{"ts clock jumps 30 s ahead", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-jump.ts", testmedia.ProgramTS, testmedia.LaterTS)
		}, equal, nil},
		{"ts clock jumps 5 s ahead (kept, under ffmpeg's 10 s)", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-gap.ts", testmedia.ProgramTS, testmedia.GapTS)
		}, equal, nil},
		{"ts splice that repeats two timestamps (under 0.1 s back)", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-overlap.ts", testmedia.ProgramTS, testmedia.OverlapTS)
		}, refused, nil}, // single-pass keeps one of the frames that share a time
		{"mpeg-2 open-GOP splice", func(t *testing.T) string {
			return testmedia.Spliced(t, "splice-mpeg2.ts", testmedia.ProgramMPEG2, testmedia.AdMPEG2)
		}, equal, nil}, // the last frame before the new sequence does not decode, in either
		{"ts pts wraps at 33 bits", func(t *testing.T) string {
			src := testmedia.Generate(t, testmedia.WrapTS)
			assertWraps(t, src)
			return src
		}, equal, nil},
		{"ts, a few bytes damaged", func(t *testing.T) string {
			return testmedia.Corrupted(t, testmedia.ProgramLonger, 0.3, 500, 5000, 2)
		}, either, nil},
		{"ts, a block damaged", func(t *testing.T) string {
			return testmedia.Corrupted(t, testmedia.ProgramLonger, 0.5, 2000, 30000, 1)
		}, either, nil},
		{"mp4, a block damaged", func(t *testing.T) string {
			return testmedia.Corrupted(t, testmedia.ProgramMP4, 0.5, 2000, 30000, 1)
		}, either, nil},
		{"mp4, a few bytes damaged", func(t *testing.T) string {
			return testmedia.Corrupted(t, testmedia.ProgramMP4, 0.3, 500, 5000, 2)
		}, either, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src(t)
			dir := t.TempDir()
			ref := filepath.Join(dir, "single-pass.mkv")
			args := append([]string{"-nostdin", "-v", "error", "-y", "-i", src, "-c:v", "ffv1"}, tc.opts...)
			if out, err := exec.Command("ffmpeg", append(args, ref)...).CombinedOutput(); err != nil {
				t.Fatalf("single-pass ffmpeg: %v\n%s", err, out)
			}
			outDir := filepath.Join(dir, "out")
			require.NoError(t, os.Mkdir(outDir, 0o755))
			out := filepath.Join(outDir, "out.mkv")
			code, _, stderr := transcode(t, append([]string{"--local", "--json", "-q", "--segment-duration", "1s", src, "-o", out, "-c:v", "ffv1"}, tc.opts...)...)
			entries, err := os.ReadDir(outDir)
			require.NoError(t, err)
			if code != 0 {
				require.NotEqual(t, equal, tc.want, "stderr: %s", stderr)
				line := strings.TrimSpace(stderr)
				assert.NotContains(t, line, "\n", "one line")
				assert.Regexp(t, regexp.MustCompile(`(damaged (between|at|after)|the timestamp) .*\d+\.\d{3}s`), line, "names the time of the damage")
				assert.Empty(t, entries, "nothing left behind")
				t.Logf("refused: %s", line)
				return
			}
			require.NotEqual(t, refused, tc.want, "exited 0")
			assert.Len(t, entries, 1, "only the output is left beside it")
			want := testmedia.FrameHashes(t, ref, "")
			got := testmedia.FrameHashes(t, out, "")
			require.NotEmpty(t, want)
			require.Equal(t, len(want), len(got), "frame count against single-pass")
			for i := range want {
				require.Equalf(t, want[i], got[i], "frame %d differs from single-pass", i)
			}
			assert.Equal(t, frameSize(t, ref), frameSize(t, out), "resolution")
			assert.InDelta(t, videoSpan(t, ref), videoSpan(t, out), 0.05, "first to last frame, seconds: the timeline is repaired (or kept) as ffmpeg does")
		})
	}
}

// frameSize is the first video stream's WIDTHxHEIGHT.
func frameSize(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=s=x:p=0", path).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// assertWraps checks that the raw 33-bit video timestamps of an MPEG-TS
// file really wrap: read without ffmpeg's overflow correction, they start
// within 10 s of 2^33 and fall to below 10 s later on.
func assertWraps(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-correct_ts_overflow", "0", "-select_streams", "v:0",
		"-show_entries", "packet=pts", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	var pts []int64
	for _, f := range strings.Fields(strings.ReplaceAll(string(out), ",", " ")) {
		v, err := strconv.ParseInt(f, 10, 64)
		require.NoError(t, err)
		pts = append(pts, v)
	}
	require.NotEmpty(t, pts)
	const wrap, tenSeconds = int64(1) << 33, int64(10 * 90000)
	assert.Greater(t, pts[0], wrap-tenSeconds, "starts just before the wrap")
	assert.Less(t, pts[len(pts)-1], tenSeconds, "ends just after it")
}

// videoSpan is the time from the first to the last video frame of path.
func videoSpan(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range strings.Fields(strings.ReplaceAll(string(out), ",", " ")) {
		v, err := strconv.ParseFloat(f, 64)
		require.NoError(t, err)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return hi - lo
}

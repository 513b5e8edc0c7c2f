package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// transcode runs the CLI in-process and returns its exit code, stdout and stderr.
func transcode(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"transcode"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func summaryOf(t *testing.T, stdout string) job.Summary {
	t.Helper()
	var s job.Summary
	require.NoError(t, json.Unmarshal([]byte(stdout), &s), "summary: %s", stdout)
	return s
}

func pixFmt(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=pix_fmt", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	return strings.TrimSpace(string(out))
}

// TestLosslessExact encodes hard inputs with FFV1 through segments and checks
// that the decoded frames are the source's, bit for bit, in order.
func TestLosslessExact(t *testing.T) {
	for _, spec := range []testmedia.Spec{
		testmedia.H264Pyramid, testmedia.HEVC, testmedia.MPEG2OpenGOP, testmedia.VFR,
		testmedia.SingleKeyframe, testmedia.MJPEG, testmedia.NoAudio, testmedia.TwoAudio,
		testmedia.AudioFirst,
	} {
		t.Run(spec.Name, func(t *testing.T) {
			src := testmedia.Generate(t, spec)
			out := filepath.Join(t.TempDir(), "out.mkv")
			code, stdout, stderr := transcode(t, "--local", "--json", "-q", "--segment-duration", "1s", src, "-o", out, "-c:v", "ffv1")
			require.Equal(t, 0, code, "stderr: %s", stderr)
			sum := summaryOf(t, stdout)
			assert.GreaterOrEqual(t, sum.Segments, 3, "the input should be cut into several segments")

			want := testmedia.FrameHashes(t, src, pixFmt(t, out))
			got := testmedia.FrameHashes(t, out, "")
			require.NotEmpty(t, want)
			require.Equal(t, len(want), len(got), "frame count")
			for i := range want {
				require.Equalf(t, want[i], got[i], "frame %d differs", i)
			}
			assertInSync(t, src, out)
			assert.Equal(t, len(want), sum.OutputFrames)
			assert.Equal(t, len(want), sum.SourceFrames)
			entries, err := os.ReadDir(filepath.Dir(out))
			require.NoError(t, err)
			assert.Len(t, entries, 1, "only the output is left beside it")
		})
	}
}

// startTimes returns each stream's start_time by type, as ffprobe reports it.
func startTimes(t *testing.T, path string) (video float64, audio []float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,start_time", "-of", "json", path).Output()
	require.NoError(t, err)
	var probe struct {
		Streams []struct {
			Type  string `json:"codec_type"`
			Start string `json:"start_time"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(out, &probe))
	for _, s := range probe.Streams {
		v, err := strconv.ParseFloat(s.Start, 64)
		require.NoError(t, err, "start_time of a %s stream", s.Type)
		switch s.Type {
		case "video":
			video = v
		case "audio":
			audio = append(audio, v)
		}
	}
	return video, audio
}

// assertInSync checks, independently of dswarm's own verification, that
// every audio stream starts as far from the video in the output as in the
// source (within 50 ms).
func assertInSync(t *testing.T, src, out string) {
	t.Helper()
	assertInSyncFrom(t, src, out, 0)
}

// assertInSyncFrom is assertInSync for the part of the source from ss
// seconds on (-ss): a stream that starts before ss starts at ss.
func assertInSyncFrom(t *testing.T, src, out string, ss float64) {
	t.Helper()
	sv, sa := startTimes(t, src)
	ov, oa := startTimes(t, out)
	require.Len(t, oa, len(sa), "audio streams")
	base := math.Min(sv, minOf(sa))
	v := math.Max(sv-base, ss)
	for i := range sa {
		want := math.Max(sa[i]-base, ss) - v
		assert.InDeltaf(t, want, oa[i]-ov, 0.05, "audio %d offset from video", i)
	}
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

// TestFrameRateChange checks -r against a whole-file fps filter: the same
// frames, in order, also when frames are dropped or repeated across joins.
func TestFrameRateChange(t *testing.T) {
	for _, tc := range []struct {
		spec testmedia.Spec
		rate string
	}{
		{testmedia.H264Pyramid, "15"},
		{testmedia.VFR, "30000/1001"},
		{testmedia.SingleKeyframe, "40"},
	} {
		t.Run(tc.spec.Name+" at "+tc.rate, func(t *testing.T) {
			src := testmedia.Generate(t, tc.spec)
			out := filepath.Join(t.TempDir(), "out.mkv")
			code, stdout, stderr := transcode(t, "--local", "--json", "-q", "--segment-duration", "1s", src, "-o", out, "-c:v", "ffv1", "-r", tc.rate)
			require.Equal(t, 0, code, "stderr: %s", stderr)
			sum := summaryOf(t, stdout)
			assert.GreaterOrEqual(t, sum.Segments, 3)
			want := testmedia.FilteredFrameHashes(t, src, "fps=fps="+tc.rate, pixFmt(t, out))
			got := testmedia.FrameHashes(t, out, "")
			require.Equal(t, len(want), len(got), "frame count")
			assert.Equal(t, want, got)
			assert.Equal(t, len(want), sum.ExpectedFrames)
			assertInSync(t, src, out)
		})
	}
}

// TestTrim checks -ss/-t/-to: the output holds exactly the frames whose time
// from the input's start is in [ss, ss+t), in order, also when the window
// starts between keyframes. The reference is a whole-file select on t; the
// first case also equals ffmpeg's own -ss/-t (which can round a last frame
// away when the window edge falls between frames, as in the third case).
func TestTrim(t *testing.T) {
	for _, tc := range []struct {
		spec       testmedia.Spec
		trim       []string
		start, end string
	}{
		{testmedia.H264Pyramid, []string{"-ss", "1.3", "-t", "2.5"}, "1.3", "3.8"},
		{testmedia.AudioFirst, []string{"-ss", "0.5", "-to", "4"}, "0.5", "4"},
		{testmedia.SingleKeyframe, []string{"-ss", "00:00:05.1", "-t", "3"}, "5.1", "8.1"},
		{testmedia.MPEG2OpenGOP, []string{"-ss", "2"}, "2", "1e9"},
	} {
		t.Run(tc.spec.Name+" "+strings.Join(tc.trim, " "), func(t *testing.T) {
			src := testmedia.Generate(t, tc.spec)
			out := filepath.Join(t.TempDir(), "out.mkv")
			args := append([]string{"--local", "--json", "-q", "--segment-duration", "0.5s", src, "-o", out, "-c:v", "ffv1"}, tc.trim...)
			code, stdout, stderr := transcode(t, args...)
			require.Equal(t, 0, code, "stderr: %s", stderr)
			sum := summaryOf(t, stdout)
			assert.GreaterOrEqual(t, sum.Segments, 3)

			want := testmedia.FilteredFrameHashes(t, src, fmt.Sprintf("select='gte(t\\,%s)*lt(t\\,%s)'", tc.start, tc.end), pixFmt(t, out))
			got := testmedia.FrameHashes(t, out, "")
			require.NotEmpty(t, want)
			require.Equal(t, len(want), len(got), "frame count")
			assert.Equal(t, want, got)
			assert.Equal(t, len(want), sum.OutputFrames)
			ss, err := strconv.ParseFloat(tc.start, 64)
			require.NoError(t, err)
			assertInSyncFrom(t, src, out, ss)
		})
	}
	t.Run("equals ffmpeg's own -ss/-t", func(t *testing.T) {
		src := testmedia.Generate(t, testmedia.H264Pyramid)
		out := filepath.Join(t.TempDir(), "out.mkv")
		code, _, stderr := transcode(t, "--local", "-q", "--segment-duration", "0.5s", src, "-o", out, "-c:v", "ffv1", "-ss", "1.3", "-t", "2.5")
		require.Equal(t, 0, code, stderr)
		ref := filepath.Join(t.TempDir(), "ref.mkv")
		outp, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", src, "-ss", "1.3", "-t", "2.5", "-map", "0:v:0", "-c:v", "ffv1", ref).CombinedOutput()
		require.NoError(t, err, string(outp))
		assert.Equal(t, testmedia.FrameHashes(t, ref, ""), testmedia.FrameHashes(t, out, ""))
	})
	t.Run("window past the end", func(t *testing.T) {
		src := testmedia.Generate(t, testmedia.H264Pyramid)
		dir := t.TempDir()
		code, _, stderr := transcode(t, "--local", src, "-o", filepath.Join(dir, "out.mkv"), "-ss", "60")
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "-ss/-t select no video frames")
		assertEmptyDir(t, dir)
	})
}

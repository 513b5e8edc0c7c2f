package media

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBitrate(t *testing.T) {
	for in, want := range map[string]float64{
		"600k": 600e3, "1M": 1e6, "1.5M": 1.5e6, "2000000": 2e6, "1Mi": 1 << 20, "100kB": 800e3, "0": 0, "2G": 2e9,
	} {
		got, err := ParseBitrate(in)
		require.NoError(t, err, in)
		assert.InDelta(t, want, got, 1e-6, in)
	}
	for _, bad := range []string{"", "fast", "-1k", "1x"} {
		_, err := ParseBitrate(bad)
		assert.Error(t, err, bad)
	}
}

func TestPlanBitrate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		video []string
		codec string
		want  *BitrateTarget
	}{
		{"x264 bitrate", []string{"-preset", "veryfast", "-b:v", "600k"}, "libx264", &BitrateTarget{Codec: "libx264", Bitrate: 600e3, OwnPasses: true}},
		{"untyped -b", []string{"-b", "1M"}, "mpeg4", &BitrateTarget{Codec: "mpeg4", Bitrate: 1e6, OwnPasses: true}},
		{"with a cap", []string{"-b:v", "2M", "-maxrate", "3M", "-bufsize", "4M"}, "libx265", &BitrateTarget{Codec: "libx265", Bitrate: 2e6, MaxRate: 3e6, OwnPasses: true}},
		{"vp9 with its own passes", []string{"-b:v", "1M"}, "libvpx-vp9", &BitrateTarget{Codec: "libvpx-vp9", Bitrate: 1e6, OwnPasses: true}},
		{"vp9 at realtime measured by the probe (no stats there)", []string{"-deadline", "realtime", "-b:v", "1M"}, "libvpx-vp9", &BitrateTarget{Codec: "libvpx-vp9", Bitrate: 1e6}},
		{"svt-av1 measured by the probe", []string{"-b:v", "1M"}, "libsvtav1", &BitrateTarget{Codec: "libsvtav1", Bitrate: 1e6}},
		{"crf is a quality target", []string{"-crf", "23", "-b:v", "1M"}, "libx264", nil},
		{"vp9 constant quality", []string{"-b:v", "0", "-crf", "31"}, "libvpx-vp9", nil},
		{"crf in x265 params", []string{"-b:v", "1M", "-x265-params", "crf=20"}, "libx265", nil},
		{"qscale", []string{"-q:v", "3", "-b:v", "1M"}, "mpeg4", nil},
		{"no bitrate", []string{"-preset", "slow"}, "libx264", nil},
		{"audio bitrate only", []string{"-b:a", "128k"}, "libx264", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PlanBitrate(tc.video, tc.codec)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestBitrateTargetOptions(t *testing.T) {
	user := []string{"-preset", "veryfast", "-b:v", "600k", "-maxrate", "900k", "-bufsize", "1200k"}
	x264, err := PlanBitrate(user, "libx264")
	require.NoError(t, err)
	codec, opts := x264.AnalysisOptions(user, "/j/seg-00003.pass", x264.StartQuality())
	assert.Equal(t, "libx264", codec)
	assert.Equal(t, []string{"-preset", "veryfast", "-crf", "23", "-pass", "1", "-passlogfile", "/j/seg-00003.pass"}, opts,
		"the analysis runs at a constant quality, without the rate and its cap")
	assert.Equal(t, []string{"-preset", "veryfast", "-maxrate", "900k", "-bufsize", "1200k", "-b:v", "712k",
		"-pass", "2", "-passlogfile", "/j/seg-00003.pass"}, x264.FinalOptions(user, "/j/seg-00003.pass", 712345.4),
		"the second pass keeps the cap and asks for the segment's share")
	assert.Equal(t, []string{"-preset", "veryfast", "-crf", "33.7", "-pass", "1", "-passlogfile", "/j/seg-00003.pass"},
		x264.FirstPassOptions(user, "/j/seg-00003.pass", 2.3e6, 33.7),
		"a segment's own first pass is at the constant quality chosen for its share, not one-pass ABR")

	x265user := []string{"-b:v", "2M", "-x265-params", "keyint=50"}
	x265, err := PlanBitrate(x265user, "libx265")
	require.NoError(t, err)
	_, opts = x265.AnalysisOptions(x265user, "/j/s", 28)
	assert.Equal(t, []string{"-x265-params", "keyint=50:pass=1:stats=/j/s.log", "-crf", "28"}, opts)
	assert.Equal(t, []string{"-x265-params", "keyint=50:pass=2:stats=/j/s.log", "-b:v", "1000k"}, x265.FinalOptions(x265user, "/j/s", 1e6))

	vp9, err := PlanBitrate([]string{"-b:v", "1M", "-deadline", "good"}, "libvpx-vp9")
	require.NoError(t, err)
	codec, opts = vp9.AnalysisOptions([]string{"-b:v", "1M", "-deadline", "good"}, "/j/s", 23)
	assert.Equal(t, "libx264", codec, "libvpx's first pass writes no bitstream to measure: the x264 probe")
	assert.Equal(t, []string{"-preset", "ultrafast", "-crf", "23"}, opts)
	assert.True(t, vp9.Probed())
	assert.True(t, vp9.FreshPass(5e5, 0), "each segment gets a first pass of its own at its share")
	assert.Equal(t, []string{"-deadline", "good", "-b:v", "500k", "-pass", "1", "-passlogfile", "/j/s"}, vp9.FirstPassOptions([]string{"-b:v", "1M", "-deadline", "good"}, "/j/s", 5e5, 30))
	assert.Equal(t, []string{"-deadline", "good", "-b:v", "500k", "-pass", "2", "-passlogfile", "/j/s"}, vp9.FinalOptions([]string{"-b:v", "1M", "-deadline", "good"}, "/j/s", 5e5))

	rt := []string{"-b:v", "1M", "-deadline", "realtime"}
	vp9rt, err := PlanBitrate(rt, "libvpx-vp9")
	require.NoError(t, err)
	codec, opts = vp9rt.AnalysisOptions(rt, "/j/s", 23)
	assert.Equal(t, "libx264", codec, "at realtime libvpx writes no first-pass stats: the x264 probe")
	assert.Equal(t, []string{"-preset", "ultrafast", "-crf", "23"}, opts)
	assert.Equal(t, []string{"-deadline", "realtime", "-b:v", "500k"}, vp9rt.FinalOptions(rt, "/j/s", 5e5))
	assert.False(t, vp9rt.FreshPass(5e5, 0))
}

func TestNextQuality(t *testing.T) {
	x264 := &BitrateTarget{Codec: "libx264", OwnPasses: true}
	q, ok := x264.NextQuality(23, 4e9, 1e9)
	assert.True(t, ok)
	assert.InDelta(t, 31, q, 1e-9, "a quarter of the bits: two halvings of x264's 4 CRF steps")
	_, ok = x264.NextQuality(23, 1.1e9, 1e9)
	assert.False(t, ok, "close enough")
	q, _ = x264.NextQuality(23, 1e12, 1e9)
	assert.Equal(t, 51.0, q, "within the encoder's range")
	mpeg4 := &BitrateTarget{Codec: "mpeg4", OwnPasses: true}
	_, ok = mpeg4.NextQuality(4, 2e9, 1e9)
	assert.False(t, ok, "FFmpeg's own encoders are analysed once, at the target")
}

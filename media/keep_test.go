package media

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOutputMuxer(t *testing.T) {
	assert.Equal(t, "matroska", OutputMuxer("/x/out.MKV", nil))
	assert.Equal(t, "mp4", OutputMuxer("out.m4v", []string{"-movflags", "+faststart"}))
	assert.Equal(t, "mov", OutputMuxer("out.mp4", []string{"-f", "mp4", "-f", "mov"}))
	assert.Equal(t, "", OutputMuxer("out.xyz", nil))
}

func TestSubtitleCodec(t *testing.T) {
	for _, tc := range []struct {
		muxer, codec, user string
		want               string
		err                string
	}{
		{"matroska", "ass", "", "copy", ""},
		{"matroska", "subrip", "", "copy", ""},
		{"matroska", "hdmv_pgs_subtitle", "", "copy", ""},
		{"matroska", "mov_text", "", "ass", ""},
		{"mp4", "mov_text", "", "copy", ""},
		{"mp4", "subrip", "", "mov_text", ""},
		{"mp4", "ass", "", "mov_text", ""},
		{"mp4", "dvd_subtitle", "", "copy", ""},
		{"mov", "hdmv_pgs_subtitle", "", "", "the mov container does not take hdmv_pgs_subtitle subtitles (it takes mov_text)"},
		{"webm", "subrip", "", "webvtt", ""},
		{"webm", "webvtt", "", "copy", ""},
		{"mpegts", "subrip", "", "", "the mpegts container takes no text subtitles (it takes dvb_subtitle, dvb_teletext)"},
		{"mpegts", "dvb_subtitle", "", "copy", ""},
		{"avi", "ass", "", "", "the avi container takes no text subtitles"},
		{"matroska", "subrip", "srt", "srt", ""},
		{"matroska", "subrip", "copy", "copy", ""},
		{"mp4", "subrip", "copy", "", "the mp4 container does not take subrip subtitles (it takes mov_text, dvd_subtitle)"},
		{"mp4", "hdmv_pgs_subtitle", "mov_text", "", "hdmv_pgs_subtitle subtitles cannot be converted to mov_text (text and bitmap subtitles do not convert into each other)"},
	} {
		t.Run(tc.muxer+"/"+tc.codec+"/"+tc.user, func(t *testing.T) {
			got, err := SubtitleCodec(tc.muxer, tc.codec, tc.user)
			if tc.err != "" {
				assert.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDispositions(t *testing.T) {
	d := func(flags ...string) map[string]bool {
		m := map[string]bool{}
		for _, f := range flags {
			m[f] = true
		}
		return m
	}
	streams := []OutputStream{
		{"video", d("default")},
		{"audio", d()}, {"audio", d("dub")},
		{"subtitle", d()}, {"subtitle", d("forced", "hearing_impaired")},
		{"attachment", d()},
	}
	assert.Equal(t, []string{"default", "0", "dub", "0", "forced+hearing_impaired", "0"}, Dispositions(streams, false))
	// As ffmpeg does without any -disposition: the first of each type
	// with several streams and no default becomes default.
	assert.Equal(t, []string{"default", "default", "dub", "default", "forced+hearing_impaired", "0"}, Dispositions(streams, true))
	// A single stream of a type is left as it is.
	assert.Equal(t, []string{"0"}, Dispositions([]OutputStream{{"audio", d()}}, true))
}

func TestVideoParamsArgs(t *testing.T) {
	assert.Equal(t, []string{"-color_range:v:0", "tv", "-color_primaries:v:0", "bt2020", "-color_trc:v:0", "smpte2084",
		"-colorspace:v:0", "bt2020nc", "-field_order:v:0", "progressive"},
		VideoParams{ColorRange: "tv", ColorSpace: "bt2020nc", ColorTransfer: "smpte2084", ColorPrimaries: "bt2020", FieldOrder: "progressive"}.Args())
	assert.Empty(t, VideoParams{}.Args())
}

func TestParseFirstFrame(t *testing.T) {
	data, err := os.ReadFile("testdata/frame_hdr10.json")
	require.NoError(t, err)
	f, err := ParseFirstFrame(data)
	require.NoError(t, err)
	assert.Equal(t, FirstFrame{
		Mastering: &Mastering{RX: 34000, RY: 16000, GX: 13250, GY: 34500, BX: 7500, BY: 3000,
			WX: 15635, WY: 16450, MaxLum: 10000000, MinLum: 1},
		LightLevel: &LightLevel{MaxCLL: 1000, MaxFALL: 400},
	}, f)

	f, err = ParseFirstFrame([]byte(`{"frames":[{"interlaced_frame":1,"top_field_first":1,"side_data_list":[{"side_data_type":"H.26[45] User Data Unregistered SEI message"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, FirstFrame{Interlaced: true, TopFieldFirst: true}, f)
	_, err = ParseFirstFrame([]byte("not json"))
	assert.Error(t, err)
}

func TestHDRParams(t *testing.T) {
	m := &Mastering{RX: 34000, RY: 16000, GX: 13250, GY: 34500, BX: 7500, BY: 3000, WX: 15635, WY: 16450, MaxLum: 10000000, MinLum: 1}
	l := &LightLevel{MaxCLL: 1000, MaxFALL: 400}
	opt, keys := HDRParams("libx265", m, l)
	assert.Equal(t, "x265-params", opt)
	assert.Equal(t, []string{"hdr10=1", "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)", "max-cll=1000,400"}, keys)
	opt, keys = HDRParams("libsvtav1", m, nil)
	assert.Equal(t, "svtav1-params", opt)
	assert.Equal(t, []string{"mastering-display=G(0.26500,0.69000)B(0.15000,0.06000)R(0.68000,0.32000)WP(0.31270,0.32900)L(1000.0000,0.0001)"}, keys)
	opt, keys = HDRParams("libx264", nil, l)
	assert.Equal(t, "x264-params", opt)
	assert.Equal(t, []string{"cll=1000,400"}, keys)
	opt, _ = HDRParams("libvpx-vp9", m, l)
	assert.Equal(t, "", opt)
	opt, _ = HDRParams("libx265", nil, nil)
	assert.Equal(t, "", opt)
	// Every generated list passes dswarm's own parameter check.
	for _, enc := range []string{"libx265", "libx264", "libsvtav1"} {
		opt, keys := HDRParams(enc, m, l)
		video := AddEncoderParams(nil, opt, keys)
		require.NoError(t, checkEncoderParams(opt, video[1]), enc)
	}
}

func TestAddEncoderParams(t *testing.T) {
	keys := []string{"hdr10=1", "max-cll=1000,400"}
	assert.Equal(t, []string{"-crf", "20", "-x265-params", "hdr10=1:max-cll=1000,400"},
		AddEncoderParams([]string{"-crf", "20"}, "x265-params", keys))
	// The user's list is extended; keys the user set stay the user's.
	assert.Equal(t, []string{"-x265-params", "keyint=50:max-cll=0,0:hdr10=1", "-crf", "20"},
		AddEncoderParams([]string{"-x265-params", "keyint=50:max-cll=0,0", "-crf", "20"}, "x265-params", keys))
	in := []string{"-crf", "20"}
	AddEncoderParams(in, "x265-params", keys)
	assert.Equal(t, []string{"-crf", "20"}, in, "the input is not changed")
	assert.Equal(t, in, AddEncoderParams(in, "", nil))
}

func TestClipChapters(t *testing.T) {
	ms := Rational{1, 1000}
	chs := []Chapter{
		{ms, 0, 2000, map[string]string{"title": "Opening"}},
		{ms, 2000, 5000, map[string]string{"title": "Rest"}},
		{ms, 5000, 9000, map[string]string{"title": "Credits"}},
	}
	// -ss 1 -t 3: shifted by 1 s, cut at 3 s, the third left out.
	assert.Equal(t, []Chapter{
		{ms, 0, 1000, map[string]string{"title": "Opening"}},
		{ms, 1000, 3000, map[string]string{"title": "Rest"}},
	}, ClipChapters(chs, 1_000_000, 3_000_000))
	// -ss 2.5 without -t: the first is left out, the rest shifted.
	assert.Equal(t, []Chapter{
		{ms, 0, 2500, map[string]string{"title": "Rest"}},
		{ms, 2500, 6500, map[string]string{"title": "Credits"}},
	}, ClipChapters(chs, 2_500_000, -1))
	// In the chapters' own time base, rounded to the nearest tick.
	ns := Rational{1, 1_000_000_000}
	assert.Equal(t, []Chapter{{ns, 0, 1_000_000_000, nil}}, ClipChapters([]Chapter{{ns, 0, 5_000_000_000, nil}}, 0, 1_000_000))
	assert.Equal(t, int64(2), rescaleMicros(1_500_000, Rational{1, 1}), "half away from zero, as av_rescale_q")
}

func TestFFMetadata(t *testing.T) {
	assert.Equal(t, ";FFMETADATA1\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\nartist=a\\=b\\;c\ntitle=Line\\\nTwo \\#1\n",
		FFMetadata([]Chapter{{Rational{1, 1000}, 0, 1000, map[string]string{"title": "Line\nTwo #1", "artist": "a=b;c"}}}))
}

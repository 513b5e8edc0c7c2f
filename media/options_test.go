package media

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		args string // split on spaces
		want Options
	}{
		{
			name: "empty",
			args: "",
			want: Options{},
		},
		{
			name: "codecs and encoder options sorted by task",
			args: "-c:v libx264 -crf 23 -preset veryfast -c:a aac -b:a 128k -movflags +faststart",
			want: Options{
				VideoCodec: "libx264",
				Video:      []string{"-crf", "23", "-preset", "veryfast"},
				AudioCodec: "aac",
				Audio:      []string{"-b:a", "128k"},
				Global:     []string{"-movflags", "+faststart"},
			},
		},
		{
			name: "-c applies to video and audio",
			args: "-c ffv1",
			want: Options{VideoCodec: "ffv1", AudioCodec: "ffv1"},
		},
		{
			name: "-codec without a stream type applies to both",
			args: "-codec flac",
			want: Options{VideoCodec: "flac", AudioCodec: "flac"},
		},
		{
			name: "audio stream copy is allowed",
			args: "-c:v libx264 -c:a copy",
			want: Options{VideoCodec: "libx264", AudioCodec: "copy"},
		},
		{
			name: "old-style codec options",
			args: "-vcodec libx265 -acodec libopus -scodec mov_text",
			want: Options{VideoCodec: "libx265", AudioCodec: "libopus", SubCodec: "mov_text"},
		},
		{
			name: "codecs with stream indexes",
			args: "-c:v:0 libvpx-vp9 -codec:a:0 libopus -c:s webvtt",
			want: Options{VideoCodec: "libvpx-vp9", AudioCodec: "libopus", SubCodec: "webvtt"},
		},
		{
			name: "typed and untyped encoder options",
			args: "-b:v 2M -maxrate 3M -g 48 -ar 48000 -ac 2 -q:a 4 -profile:v high -profile:a aac_low -pix_fmt yuv420p10le",
			want: Options{
				Video: []string{"-b:v", "2M", "-maxrate", "3M", "-g", "48", "-profile:v", "high", "-pix_fmt", "yuv420p10le"},
				Audio: []string{"-ar", "48000", "-ac", "2", "-q:a", "4", "-profile:a", "aac_low"},
			},
		},
		{
			name: "unknown untyped option goes to video",
			args: "-tune film -x264-params keyint=48:min-keyint=48:scenecut=0",
			want: Options{Video: []string{"-tune", "film", "-x264-params", "keyint=48:min-keyint=48:scenecut=0"}},
		},
		{
			name: "video filters joined, audio filters kept as options",
			args: "-vf scale=640:-2 -filter:v hflip -af volume=0.5 -filter:a aresample=48000",
			want: Options{
				VideoFilter: "scale=640:-2,hflip",
				Audio:       []string{"-af", "volume=0.5", "-af", "aresample=48000"},
			},
		},
		{
			name: "filter with a quoted comma",
			args: "-vf scale=w='min(iw,640)':h=-2",
			want: Options{VideoFilter: `scale=w=min(iw\,640):h=-2`}, // dswarm's canonical spelling
		},
		{
			// Audio is encoded once from the whole input, so a fade there
			// is exact.
			name: "time-dependent audio filter that keeps the length",
			args: "-af afade=t=in:d=1",
			want: Options{Audio: []string{"-af", "afade=t=in:d=1"}},
		},
		{
			name: "-strict goes to every task",
			args: "-strict experimental",
			want: Options{
				Video:  []string{"-strict", "experimental"},
				Audio:  []string{"-strict", "experimental"},
				Global: []string{"-strict", "experimental"},
			},
		},
		{
			name: "muxer and per-stream metadata options are global",
			args: "-f matroska -metadata title=Movie -metadata:s:a:0 language=eng -disposition:s:0 default -map_metadata 0",
			want: Options{Global: []string{
				"-f", "matroska", "-metadata", "title=Movie", "-metadata:s:a:0", "language=eng",
				"-disposition:s:0", "default",
			}},
		},
		{
			name: "flags",
			args: "-y -an -sn -dn -hide_banner -nostats -nostdin -stats -n",
			want: Options{Overwrite: true, NoAudio: true, NoSubtitles: true},
		},
		{
			name: "flags between options do not take a value",
			args: "-an -crf 20 -y -preset slow",
			want: Options{NoAudio: true, Overwrite: true, Video: []string{"-crf", "20", "-preset", "slow"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(strings.Fields(tt.args))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseOptionsRefused(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		option string // OptionError.Option
		reason string // a part of OptionError.Reason
	}{
		{"map", []string{"-map", "0"}, "-map", "not supported by dswarm: dswarm maps the first video stream"},
		{"filter_complex", []string{"-filter_complex", "[0:v]scale=640:-2"}, "-filter_complex", "cannot be split; use -vf or -af"},
		{"ss without its value", []string{"-ss"}, "-ss", "missing its value"},
		{"ss not a time", []string{"-ss", "soon"}, "-ss", "is not a time"},
		{"negative ss", []string{"-ss", "-3"}, "-ss", "is not a time"},
		{"zero t", []string{"-t", "0"}, "-t", "is not a time"},
		{"to before ss", []string{"-ss", "20", "-to", "10"}, "-to", "is not after -ss"},
		{"ss per stream", []string{"-ss:v", "1"}, "-ss:v", "without a stream type"},
		{"trim with r", []string{"-ss", "1", "-r", "30"}, "-r", "not supported together with -ss"},
		{"sseof", []string{"-sseof", "-5"}, "-sseof", "give the start with -ss"},
		{"pass", []string{"-pass", "1"}, "-pass", "two-pass encoding"},
		{"vn", []string{"-vn"}, "-vn", "dswarm transcodes video"},
		{"shortest", []string{"-shortest"}, "-shortest", "keeps every stream whole"},
		{"another input", []string{"-i", "other.mp4"}, "-i", "inputs are given once"},
		{"fps_mode", []string{"-fps_mode", "cfr"}, "-fps_mode", "passes every source frame through"},
		{"unsupported flag", []string{"-re"}, "-re", "not supported by dswarm"},

		{"video copy", []string{"-c:v", "copy"}, "-c:v", "video stream copy cannot be cut frame-exactly"},
		{"copy for every stream", []string{"-c", "copy"}, "-c", "video stream copy cannot be cut frame-exactly"},
		{"vcodec copy", []string{"-vcodec", "copy"}, "-vcodec", "video stream copy"},
		{"codec:v copy", []string{"-codec:v", "copy"}, "-codec:v", "video stream copy"},
		{"codec for data streams", []string{"-c:d", "bin_data"}, "-c:d", "unknown stream specifier"},
		{"unknown stream type", []string{"-b:x", "1M"}, "-b:x", "unknown stream specifier x"},
		{"filter without a stream type", []string{"-filter", "hflip"}, "-filter", "give it a stream type: -filter:v or -filter:a"},

		{"x264-params stats", []string{"-x264-params", "keyint=48:stats=x264.log"}, "-x264-params", "stats reads or writes another file"},
		{"x265-params pass", []string{"-x265-params", "pass=2"}, "-x265-params", "pass reads or writes another file"},
		{"x264opts qpfile", []string{"-x264opts", "qpfile=q.txt"}, "-x264opts", "qpfile reads or writes another file"},

		{"fade", []string{"-vf", "fade=in:0:25"}, "-vf", `filter "fade" is not supported by dswarm: depends on time`},
		{"select after another filter", []string{"-vf", `scale=640:-2,select='eq(pict_type\,I)'`}, "-vf", `filter "select"`},
		{"movie", []string{"-vf", "movie=logo.png"}, "-vf", `filter "movie" is not supported by dswarm: reads or writes other files`},
		{"a graph with labels", []string{"-vf", "movie=logo.png[wm];[in][wm]overlay=10:10[out]"}, "-vf", "link labels"},
		{"subtitles", []string{"-vf", "subtitles=subs.srt"}, "-vf", `filter "subtitles"`},
		{"filter after input labels", []string{"-vf", "[in] fade=t=in:d=1 [out]"}, "-vf", "link labels"},
		{"filter with an instance name", []string{"-vf", "fade@intro=t=in:d=1"}, "-vf", `filter "fade"`},
		{"filter after a quoted comma", []string{"-vf", "scale=w='min(iw,640)':h=-2,fade=t=out:st=9:d=1"}, "-vf", `filter "fade"`},
		{"filter:v", []string{"-filter:v", "yadif"}, "-filter:v", `filter "yadif"`},
		{"audio filter changing the length", []string{"-af", "atempo=2"}, "-af", `filter "atempo" is not supported by dswarm: changes the audio's length`},
		{"filter:a", []string{"-filter:a", "aloop=loop=2"}, "-filter:a", `filter "aloop"`},

		{"missing value", []string{"-crf"}, "-crf", "missing its value"},
		{"missing value after others", []string{"-crf", "20", "-c:v"}, "-c:v", "missing its value"},
		{"bare token", []string{"out.mkv"}, "out.mkv", "not an option"},
		{"bare token after options", []string{"-crf", "23", "out.mkv"}, "out.mkv", "not an option"},
		{"lone dash", []string{"-"}, "-", "not an option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseOptions(tt.args)
			require.Error(t, err)
			var oe *OptionError
			require.True(t, errors.As(err, &oe), "want an *OptionError, got %T: %v", err, err)
			assert.Equal(t, tt.option, oe.Option)
			assert.Contains(t, oe.Reason, tt.reason)
			assert.Equal(t, "option "+oe.Option+": "+oe.Reason, err.Error())
		})
	}
}

// TestParseOptionsFrameRate: -r and -r:v set the output frame rate, which
// the segments apply through the fps filter.
func TestParseOptionsFrameRate(t *testing.T) {
	for _, args := range [][]string{{"-r", "30000/1001"}, {"-r:v", "30000/1001"}} {
		got, err := ParseOptions(args)
		require.NoError(t, err)
		assert.Equal(t, "30000/1001", got.FrameRate)
		assert.Empty(t, got.Video)
	}
	_, err := ParseOptions([]string{"-r:a", "48000"})
	require.NoError(t, err, "-r:a is not a video rate")
}

func TestParseOptionsTrim(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		args []string
		want Trim
	}{
		{[]string{"-ss", "10"}, Trim{Start: 10, End: inf, Set: true}},
		{[]string{"-ss", "1.5", "-t", "2"}, Trim{Start: 1.5, End: 3.5, Set: true}},
		{[]string{"-ss", "00:01:00", "-to", "00:01:30.5"}, Trim{Start: 60, End: 90.5, Set: true}},
		{[]string{"-t", "5", "-to", "2"}, Trim{Start: 0, End: 5, Set: true}}, // -t wins, as in ffmpeg
		{[]string{"-c:v", "libx264"}, Trim{}},
	} {
		got, err := ParseOptions(tc.args)
		require.NoError(t, err, "%v", tc.args)
		assert.Equal(t, tc.want, got.Trim, "%v", tc.args)
		assert.Empty(t, got.Video, "trim options are not passed to the encoder")
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]float64{
		"12": 12, "12.5": 12.5, "90s": 90, "1500ms": 1.5, "250us": 0.00025,
		"01:02": 62, "1:02:03.5": 3723.5, "-2.5": -2.5, "00:00:05.1": 5.1,
	} {
		got, err := ParseTime(in)
		require.NoError(t, err, in)
		assert.InDelta(t, want, got, 1e-9, in)
	}
	for _, bad := range []string{"", "abc", "1:2:3:4", "1:x", "NaN", "inf"} {
		_, err := ParseTime(bad)
		assert.Error(t, err, bad)
	}
}

// TestParseOptionsCopyThenVideoCodec: in ffmpeg "-c copy -c:v libx264" copies
// audio and encodes video, a common idiom; the video codec is only known
// once every option is read.
func TestParseOptionsCopyThenVideoCodec(t *testing.T) {
	got, err := ParseOptions([]string{"-c", "copy", "-c:v", "libx264"})
	require.NoError(t, err)
	assert.Equal(t, "libx264", got.VideoCodec)
	assert.Equal(t, "copy", got.AudioCodec)
}

// TestParseOptionsOutputLabel: link labels make a graph, not a chain, and
// are refused whatever filter they wrap.
func TestParseOptionsOutputLabel(t *testing.T) {
	for _, vf := range []string{"[in]yadif[out]", "yadif [out]", "reverse[r]", "hflip[out]"} {
		t.Run(vf, func(t *testing.T) {
			_, err := ParseOptions([]string{"-vf", vf})
			var oe *OptionError
			require.True(t, errors.As(err, &oe), "want a refusal, got %v", err)
			assert.Contains(t, oe.Reason, "link labels")
		})
	}
}

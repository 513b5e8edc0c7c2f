package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Captured with ffprobe 5.1 (-show_entries packet=stream_index,pts,duration,
// size,flags -of compact=p=0): the start of an H.264+AAC MP4 (the AAC
// priming packet is flagged KD; asking for packet_side_data too puts its
// side data on the same line), packets of an MPEG-TS (trailing "|" and a
// blank line after some packets) and of a raw .h264 (no timestamps). The
// last two lines are edited: a packet without duration and size, and a
// line with side data only.
const packetsFixture = `stream_index=0|pts=0|duration=512|size=5173|flags=K_
stream_index=0|pts=2048|duration=512|size=2477|flags=__
stream_index=1|pts=-1024|duration=1024|size=258|flags=KD|side_data_type=Skip Samples|skip_samples=1024|discard_padding=0|skip_reason=0|discard_reason=0

stream_index=0|pts=1024|duration=512|size=1399|flags=__
stream_index=1|pts=0|duration=1024|size=258|flags=K_
stream_index=1|pts=1024|duration=1024|size=146|flags=K_
stream_index=0|pts=512|duration=512|size=987|flags=__
stream_index=2|pts=129600|duration=3600|size=5986|flags=K_|

stream_index=2|pts=133200|duration=3600|size=4662|flags=__|

stream_index=3|pts=N/A|duration=48000|size=2980|flags=K_
stream_index=3|pts=N/A|duration=48000|size=811|flags=__
stream_index=2|pts=136800|duration=N/A|size=N/A|flags=__
side_data_type=Skip Samples|skip_samples=1024|discard_padding=0
`

func TestParsePackets(t *testing.T) {
	pkts, err := ParsePackets(strings.NewReader(packetsFixture))
	require.NoError(t, err)
	assert.Equal(t, []Packet{
		{Stream: 0, PTS: 0, Duration: 512, Size: 5173, Key: true},
		{Stream: 0, PTS: 2048, Duration: 512, Size: 2477},
		{Stream: 1, PTS: -1024, Duration: 1024, Size: 258, Key: true, Discard: true},
		{Stream: 0, PTS: 1024, Duration: 512, Size: 1399},
		{Stream: 1, PTS: 0, Duration: 1024, Size: 258, Key: true},
		{Stream: 1, PTS: 1024, Duration: 1024, Size: 146, Key: true},
		{Stream: 0, PTS: 512, Duration: 512, Size: 987},
		{Stream: 2, PTS: 129600, Duration: 3600, Size: 5986, Key: true},
		{Stream: 2, PTS: 133200, Duration: 3600, Size: 4662},
		{Stream: 3, PTS: NoPTS, Duration: 48000, Size: 2980, Key: true},
		{Stream: 3, PTS: NoPTS, Duration: 48000, Size: 811},
		{Stream: 2, PTS: 136800},
	}, withoutDTS(pkts))
}

// withoutDTS zeroes the decode timestamps, which the fixture does not ask for
// (every one is NoPTS).
func withoutDTS(pkts []Packet) []Packet {
	out := make([]Packet, len(pkts))
	for i, p := range pkts {
		if p.DTS != NoPTS {
			panic("fixture has a dts")
		}
		p.DTS = 0
		out[i] = p
	}
	return out
}

func TestParsePacketsEmpty(t *testing.T) {
	pkts, err := ParsePackets(strings.NewReader(""))
	require.NoError(t, err)
	assert.Empty(t, pkts)
}

func TestParsePacketsErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  string
	}{
		{"bad pts", "stream_index=0|pts=0|flags=K_\nstream_index=0|pts=x1|flags=__\n", "line 2: pts=x1:"},
		{"bad stream index", "stream_index=a|pts=0\n", "line 1: stream_index=a:"},
		{"bad duration after a blank line", "\nstream_index=0|pts=0|duration=1.5\n", "line 2: duration=1.5:"},
		{"bad size", "stream_index=0|pts=0|size=-|flags=__\n", "line 1: size=-:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkts, err := ParsePackets(strings.NewReader(tt.input))
			require.Error(t, err)
			assert.Nil(t, pkts)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "invalid syntax")
		})
	}
}

func TestExtents(t *testing.T) {
	pkts, err := ParsePackets(strings.NewReader(packetsFixture))
	require.NoError(t, err)
	ext := Extents(pkts)
	assert.Equal(t, map[int]Extent{
		// B-frames: the largest pts is not the last packet's.
		0: {Packets: 4, Start: 0, End: 2560},
		// The discarded priming packet at -1024 is not counted.
		1: {Packets: 2, Start: 0, End: 2048},
		// A packet without a duration still extends the end to its pts.
		2: {Packets: 3, Start: 129600, End: 136800},
		// Stream 3 has no timestamps at all, so no extent.
	}, ext)
	assert.InDelta(t, 0.2, ext[0].Seconds(Rational{1, 12800}), 1e-12)
	assert.InDelta(t, 0.08, ext[2].Seconds(Rational{1, 90000}), 1e-12)
}

func TestExtentsNegativeStart(t *testing.T) {
	ext := Extents([]Packet{
		{Stream: 0, PTS: 100, Duration: 10},
		{Stream: 0, PTS: -30, Duration: 10},
		{Stream: 0, PTS: 50, Duration: 10},
	})
	assert.Equal(t, map[int]Extent{0: {Packets: 3, Start: -30, End: 110}}, ext)
}

func readProbe(t *testing.T, name string) *Info {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	info, err := ParseProbe(data)
	require.NoError(t, err)
	return info
}

func TestParseProbe(t *testing.T) {
	// ffprobe -v error -show_format -show_streams -of json (tags removed) of
	// an MP4 made from testsrc2 (H.264, 320x240, 25 fps, 2 s), sine (AAC),
	// an SRT (mov_text) and a PNG cover, which the MP4 muxer moves last.
	t.Run("mp4 with audio, subtitle and cover", func(t *testing.T) {
		info := readProbe(t, "probe_mp4_cover_subtitle.json")
		assert.Equal(t, &Info{
			FormatName: "mov,mp4,m4a,3gp,3g2,mj2",
			StartTime:  0,
			Duration:   2,
			Size:       88902,
			Streams: []Stream{
				{
					Index: 0, Type: "video", Codec: "h264", TimeBase: Rational{1, 12800},
					StartPTS: 0, HasStart: true, Width: 320, Height: 240, PixFmt: "yuv420p",
					FrameRate: Rational{25, 1}, Duration: 2, FieldOrder: "progressive",
					Disposition: map[string]bool{"default": true},
				},
				{
					Index: 1, Type: "audio", Codec: "aac", TimeBase: Rational{1, 44100},
					StartPTS: 0, HasStart: true, Duration: 2, Channels: 1, SampleRate: 44100,
					Disposition: map[string]bool{"default": true},
				},
				{
					Index: 2, Type: "subtitle", Codec: "mov_text", TimeBase: Rational{1, 1000000},
					StartPTS: 0, HasStart: true, Duration: 1,
					Disposition: map[string]bool{"default": true},
				},
				{
					Index: 3, Type: "video", Codec: "png", TimeBase: Rational{1, 90000},
					StartPTS: 0, HasStart: true, Width: 64, Height: 64, PixFmt: "rgb24",
					Duration: 2, AttachedPic: true, ColorRange: "pc",
					Disposition: map[string]bool{"attached_pic": true},
				},
			},
		}, info)
		v, err := info.Video()
		require.NoError(t, err)
		assert.Equal(t, 0, v.Index)
		require.Len(t, info.Audio(), 1)
		assert.Equal(t, 1, info.Audio()[0].Index)
		require.Len(t, info.Subtitles(), 1)
		assert.Equal(t, 2, info.Subtitles()[0].Index)
	})

	// An MP3 with an ID3 cover: audio starting late (start_pts 353600) and
	// a video stream that is only an attached picture.
	t.Run("mp3 with cover", func(t *testing.T) {
		info := readProbe(t, "probe_mp3_cover.json")
		assert.Equal(t, "mp3", info.FormatName)
		assert.InDelta(t, 0.025056, info.StartTime, 1e-9)
		assert.InDelta(t, 1.044898, info.Duration, 1e-9)
		assert.Equal(t, int64(8882), info.Size)
		require.Len(t, info.Streams, 2)
		a := info.Streams[0]
		assert.Equal(t, Stream{
			Index: 0, Type: "audio", Codec: "mp3", TimeBase: Rational{1, 14112000},
			StartPTS: 353600, HasStart: true, Duration: 1.044898, Channels: 1, SampleRate: 44100,
		}, a)
		assert.True(t, a.FrameRate.IsZero())
		assert.True(t, info.Streams[1].AttachedPic)
		assert.Equal(t, "mjpeg", info.Streams[1].Codec)
		_, err := info.Video()
		assert.ErrorIs(t, err, ErrNoVideo)
		assert.Empty(t, info.Subtitles())
	})

	// A raw H.264 elementary stream: no start, no durations.
	t.Run("raw h264", func(t *testing.T) {
		info := readProbe(t, "probe_raw_h264.json")
		assert.Equal(t, &Info{
			FormatName: "h264",
			Size:       5093,
			Streams: []Stream{{
				Index: 0, Type: "video", Codec: "h264", TimeBase: Rational{1, 1200000},
				Width: 160, Height: 120, PixFmt: "yuv420p", FrameRate: Rational{25, 1},
				FieldOrder: "progressive",
			}},
		}, info)
		assert.Empty(t, info.Audio())
	})
}

func TestParseProbeErrors(t *testing.T) {
	for _, data := range []string{"", "not json", `{"streams": {}}`} {
		t.Run(data, func(t *testing.T) {
			info, err := ParseProbe([]byte(data))
			require.Error(t, err)
			assert.Nil(t, info)
			assert.Contains(t, err.Error(), "parse ffprobe json")
		})
	}
}

func TestInfoVideo(t *testing.T) {
	cover := Stream{Index: 0, Type: "video", Codec: "mjpeg", AttachedPic: true}
	main := Stream{Index: 1, Type: "video", Codec: "h264"}
	second := Stream{Index: 3, Type: "video", Codec: "hevc"}
	audio := Stream{Index: 2, Type: "audio", Codec: "aac"}
	tests := []struct {
		name    string
		streams []Stream
		want    Stream
		err     error
	}{
		{"cover art before the video is skipped", []Stream{cover, main, audio}, main, nil},
		{"first of several videos", []Stream{audio, second, main}, second, nil},
		{"cover art only", []Stream{audio, cover}, Stream{}, ErrNoVideo},
		{"audio only", []Stream{audio}, Stream{}, ErrNoVideo},
		{"no streams", nil, Stream{}, ErrNoVideo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := &Info{Streams: tt.streams}
			got, err := info.Video()
			assert.ErrorIs(t, err, tt.err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseStreamMapping(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   map[int]string
	}{
		{
			// ffmpeg 5.1 -v level+info, -c:v ffv1 -c:a libvorbis into MKV.
			name: "native and library encoders with level tags",
			stderr: `[info]   Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 69 kb/s (default)
[info]     Metadata:
[info]       handler_name    : SoundHandler
[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (h264 (native) -> ffv1 (native))
[info]   Stream #0:1 -> #0:1 (aac (native) -> vorbis (libvorbis))
[info] Output #0, matroska, to 'y.mkv':
[info]   Stream #0:0(und): Video: ffv1 (FFV1 / 0x31564646), yuv420p(progressive), 320x240 [SAR 1:1 DAR 4:3], q=2-31, 200 kb/s, 25 fps, 1k tbn (default)
[info]       encoder         : Lavc59.37.100 ffv1
`,
			want: map[int]string{0: "ffv1", 1: "libvorbis"},
		},
		{
			// -c:v libx264 -c:a copy: a copied stream has no encoder.
			name: "stream copy is not an encoder",
			stderr: `[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (h264 (native) -> h264 (libx264))
[info]   Stream #0:1 -> #0:1 (copy)
[libx264 @ 0x561cb20df000] [info] using SAR=1/1
[libx264 @ 0x561cb20df000] [info] using cpu capabilities: MMX2 SSE2Fast SSSE3 SSE4.2 AVX FMA3 BMI2 AVX2 AVX512
`,
			want: map[int]string{0: "libx264"},
		},
		{
			// A failing preflight still reports the mapping first.
			name: "mapping before an encoder error",
			stderr: `[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (h264 (native) -> h264 (libx264))
[info]   Stream #0:1 -> #0:1 (aac (native) -> pcm_s16le (native))
x264 [error]: invalid profile: bogus
[libx264 @ 0x55e92d4a4200] [error] Error setting profile bogus.
[error] Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height
[info] Conversion failed!
`,
			want: map[int]string{0: "libx264", 1: "pcm_s16le"},
		},
		{
			name: "without level tags, second input, library decoder",
			stderr: `Stream mapping:
  Stream #0:0 -> #0:0 (av1 (libdav1d) -> hevc (libx265))
  Stream #1:0 -> #0:1 (pcm_s16le (native) -> opus (libopus))
  Stream #0:2 -> #0:2 (subrip (srt) -> ass (ssa))
Press [q] to stop, [?] for help
`,
			want: map[int]string{0: "libx265", 1: "libopus", 2: "ssa"},
		},
		{
			name:   "no mapping",
			stderr: "[error] x.mp4: No such file or directory\n",
			want:   map[int]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ParseStreamMapping(tt.stderr))
		})
	}
}

func TestErrorLines(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   string
	}{
		{
			name: "encoder error behind the generic remarks",
			stderr: `[info] Stream mapping:
[info]   Stream #0:0 -> #0:0 (h264 (native) -> h264 (libx264))
x264 [error]: invalid profile: bogus
[libx264 @ 0x55e92d4a4200] [error] Error setting profile bogus.
[libx264 @ 0x55e92d4a4200] [info] Possible profiles: baseline main high high10 high422 high444
[error] Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height
[info] Conversion failed!
`,
			want: "libx264: Error setting profile bogus.",
		},
		{
			name: "muxer error",
			stderr: `[info]   Stream #0:1 -> #0:1 (aac (native) -> pcm_s16le (native))
[mp4 @ 0x559d9ae3d880] [error] Could not find tag for codec pcm_s16le in stream #1, codec not currently supported in container
[error] Could not write header for output file #0 (incorrect codec parameters ?): Invalid argument
[error] Error initializing output stream 0:0 -- 
[info] Conversion failed!
`,
			want: "mp4: Could not find tag for codec pcm_s16le in stream #1, codec not currently supported in container",
		},
		{
			name: "fatal",
			stderr: `[fatal] Unrecognized option 'bogus'.
[fatal] Error splitting the argument list: Option not found
`,
			want: "Unrecognized option 'bogus'.",
		},
		{
			name:   "only informational lines",
			stderr: "[info] Stream mapping:\n[info] Conversion failed!\n",
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errorLines(tt.stderr).Last())
		})
	}
}

func TestParseProgress(t *testing.T) {
	// ffmpeg 5.1 -progress pipe:1 of a 3 s 720p libx264 encode, trimmed to
	// the first, third and last blocks.
	const progress = `frame=1
fps=0.00
stream_0_0_q=0.0
bitrate=N/A
total_size=N/A
out_time_us=0
out_time_ms=0
out_time=00:00:00.000000
dup_frames=0
drop_frames=0
speed=   0x
progress=continue
frame=70
fps=60.76
stream_0_0_q=29.0
bitrate=   0.3kbits/s
total_size=48
out_time_us=1040000
out_time_ms=1040000
out_time=00:00:01.040000
dup_frames=0
drop_frames=0
speed=0.902x
progress=continue
frame=75
fps=19.00
stream_0_0_q=-1.0
bitrate=1373.4kbits/s
total_size=515018
out_time_us=3000000
out_time_ms=3000000
out_time=00:00:03.000000
dup_frames=0
drop_frames=0
speed=0.76x
progress=end
`
	tests := []struct {
		name  string
		input string
		want  []Progress
	}{
		{
			name:  "captured",
			input: progress,
			want: []Progress{{Frame: 1}, {Frame: 70, FPS: 60.76, Elapsed: div(1.04, 0.902)},
				{Frame: 75, FPS: 19, Elapsed: div(3, 0.76), Done: true}},
		},
		{
			// ffmpeg 5.1's last block of a 1 s 360p libx264 veryfast
			// encode: under a second, it prints fps=0.
			name:  "under a second",
			input: "frame=25\nfps=0.00\nout_time_us=920000\nout_time=00:00:00.920000\nspeed=7.16x\nprogress=end\n",
			want:  []Progress{{Frame: 25, Elapsed: div(0.92, 7.16), Done: true}},
		},
		{
			name:  "speed unknown",
			input: "frame=25\nout_time_us=920000\nspeed=N/A\nprogress=continue\nframe=30\nprogress=end\n",
			want:  []Progress{{Frame: 25}, {Frame: 30, Done: true}},
		},
		{
			name:  "padded values",
			input: "frame=  12\nfps= 3.5\nprogress=continue\n",
			want:  []Progress{{Frame: 12, FPS: 3.5}},
		},
		{
			name:  "a block without frame keeps the last one",
			input: "frame=5\nfps=1\nprogress=continue\nfps=2\nprogress=end\n",
			want:  []Progress{{Frame: 5, FPS: 1}, {Frame: 5, FPS: 2, Done: true}},
		},
		{
			name:  "unfinished block is not reported",
			input: "frame=5\nprogress=continue\nframe=9\n",
			want:  []Progress{{Frame: 5}},
		},
		{
			name:  "noise",
			input: "garbage\n\nframe=x\nprogress=continue\n",
			want:  []Progress{{}},
		},
		{
			name:  "empty",
			input: "",
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Progress
			ParseProgress(strings.NewReader(tt.input), func(p Progress) { got = append(got, p) })
			assert.Equal(t, tt.want, got)
		})
	}
}

func div(a, b float64) float64 { return a / b }

func TestProgressRate(t *testing.T) {
	assert.InDelta(t, 60.76, Progress{Frame: 70, FPS: 60.76, Elapsed: 1.153}.Rate(), 1e-9, "ffmpeg's fps first")
	assert.InDelta(t, 194.6, Progress{Frame: 25, Elapsed: 0.92 / 7.16}.Rate(), 0.1, "frames over ffmpeg's clock when fps is 0")
	assert.Zero(t, Progress{Frame: 25}.Rate(), "unknown")
}

func TestTailWriterLast(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{
			// ffmpeg 5.1 -v error on a truncated MP4.
			name: "invalid data joined with the line before",
			writes: []string{
				"[mov,mp4,m4a,3gp,3g2,mj2 @ 0x561f2c533900] moov atom not found\n",
				"trunc.mp4: Invalid data found when processing input\n",
			},
			want: "mov,mp4,m4a,3gp,3g2,mj2: moov atom not found; trunc.mp4: Invalid data found when processing input",
		},
		{
			name:   "invalid data alone",
			writes: []string{"trunc.mp4: Invalid data found when processing input\n"},
			want:   "trunc.mp4: Invalid data found when processing input",
		},
		{
			name: "generic remarks skipped, component prefix cleaned",
			writes: []string{
				"x264 [error]: invalid profile: bogus\n",
				"[libx264 @ 0x5615280a3200] Error setting profile bogus.\n",
				"Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height\n",
				"Conversion failed!\n",
			},
			want: "libx264: Error setting profile bogus.",
		},
		{
			name: "several generic remarks in a row",
			writes: []string{
				"[mp4 @ 0x564ee8c635c0] Could not find tag for codec pcm_s16le in stream #1, codec not currently supported in container\n",
				"Could not write header for output file #0 (incorrect codec parameters ?): Invalid argument\n",
				"Error initializing output stream 0:0 -- \n",
			},
			want: "mp4: Could not find tag for codec pcm_s16le in stream #1, codec not currently supported in container",
		},
		{
			name: "argument error",
			writes: []string{
				"Unrecognized option 'bogus'.\n",
				"Error splitting the argument list: Option not found\n",
			},
			want: "Unrecognized option 'bogus'.",
		},
		{
			name:   "only a generic remark",
			writes: []string{"Conversion failed!\n"},
			want:   "Conversion failed!",
		},
		{
			name:   "last line without newline, written in pieces",
			writes: []string{"first line\n[h264 @ 0x", "55d6a8a4ee40] no frame!"},
			want:   "h264: no frame!",
		},
		{
			name:   "carriage returns and blank lines",
			writes: []string{"frame=  10 fps=0.0\rframe=  20 fps=0.0\r\n\n   \n"},
			want:   "frame=  20 fps=0.0",
		},
		{
			name:   "prefix only cleaned at the start",
			writes: []string{"input [in @ 0x1234] odd\n"},
			want:   "input [in @ 0x1234] odd",
		},
		{
			name:   "nothing written",
			writes: nil,
			want:   "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tail := &tailWriter{max: 20}
			for _, w := range tt.writes {
				n, err := tail.Write([]byte(w))
				require.NoError(t, err)
				assert.Equal(t, len(w), n)
			}
			assert.Equal(t, tt.want, tail.Last())
		})
	}
}

func TestTailWriterKeepsLastLines(t *testing.T) {
	tail := &tailWriter{max: 3}
	for _, l := range []string{"one", "two", "three", "four", "five"} {
		_, _ = tail.Write([]byte(l + "\n"))
	}
	assert.Equal(t, []string{"three", "four", "five"}, tail.lines)
	assert.Equal(t, "five", tail.Last())
}

// ffmpeg's clock from its reports, on real encodes: under a second (fps=0),
// and with -copyts and a seek, as a segment runs, where out_time counts
// from ffmpeg's second report: Elapsed must still be seconds of encoding.
func TestProgressElapsed(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("no ffmpeg")
	}
	src := filepath.Join(t.TempDir(), "src.nut")
	require.NoError(t, RunFFmpeg(context.Background(), []string{"-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=40", "-c:v", "ffv1", src}, nil))
	encode := func(args ...string) Progress {
		var last Progress
		args = append(args, "-c:v", "libx264", "-threads", "1", "-f", "null", "-")
		require.NoError(t, RunFFmpeg(context.Background(), args, func(p Progress) { last = p }))
		require.True(t, last.Done)
		t.Logf("%v: frame=%d fps=%.2f elapsed=%.3fs rate=%.1f", args[:6], last.Frame, last.FPS, last.Elapsed, last.Rate())
		return last
	}

	short := encode("-i", src, "-frames:v", "10", "-preset", "ultrafast")
	require.Zero(t, short.FPS, "ffmpeg prints fps=0 under a second")
	require.Positive(t, short.Elapsed, "under a second: from out_time and speed")
	assert.InEpsilon(t, float64(short.Frame)/short.Elapsed, short.Rate(), 1e-9)

	// 400 frames: 200 took 0.97 s on an idle machine here, under the
	// second after which ffmpeg prints its fps.
	long := encode("-copyts", "-ss", "20", "-i", src, "-frames:v", "400", "-preset", "medium")
	require.Positive(t, long.FPS, "over a second, ffmpeg's own fps")
	require.Positive(t, long.Elapsed)
	assert.InEpsilon(t, float64(long.Frame)/long.FPS, long.Elapsed, 0.05, "the encode's seconds, not the output's times (20 s on)")
}

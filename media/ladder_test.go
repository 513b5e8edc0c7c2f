package media

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLadder(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       []Rung
		err        string
	}{
		{name: "inline", spec: "720p:3M,480p:1.2M,360p:600k",
			want: []Rung{{Height: 720, Bitrate: 3e6}, {Height: 480, Bitrate: 1.2e6}, {Height: 360, Bitrate: 6e5}}},
		{name: "sorted tallest first", spec: "360p:600k,1080p:5M",
			want: []Rung{{Height: 1080, Bitrate: 5e6}, {Height: 360, Bitrate: 6e5}}},
		{name: "file form", spec: "# my ladder\n720p:3000000\n\n240p:300K\n",
			want: []Rung{{Height: 720, Bitrate: 3e6}, {Height: 240, Bitrate: 3e5}}},
		{name: "default", spec: "default",
			want: []Rung{{Height: 1080, Bitrate: 5e6}, {Height: 720, Bitrate: 3e6}, {Height: 480, Bitrate: 1.2e6}, {Height: 360, Bitrate: 6e5}, {Height: 240, Bitrate: 3e5}}},
		{name: "empty", spec: " ", err: "no rungs"},
		{name: "no rate", spec: "720p", err: "want HEIGHTp:BITRATE"},
		{name: "no p", spec: "720:3M", err: "is not one of"},
		{name: "odd height", spec: "721p:3M", err: "even"},
		{name: "bad rate", spec: "720p:fast", err: "bitrate"},
		{name: "negative rate", spec: "720p:-3M", err: "bitrate"},
		{name: "tiny rate", spec: "720p:1k", err: "outside"},
		{name: "twice", spec: "720p:3M,720p:2M", err: "given twice"},
		{name: "huge", spec: "9000p:3M", err: "is not one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLadder(tc.spec)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestFitLadder(t *testing.T) {
	rungs, err := ParseLadder("1080p:5M,720p:3M,480p:1.2M,360p:600k")
	require.NoError(t, err)
	t.Run("rungs above the source are dropped with a note", func(t *testing.T) {
		kept, notes, err := FitLadder(rungs, 1280, 720, Rational{})
		require.NoError(t, err)
		require.Len(t, kept, 3)
		assert.Equal(t, []string{"ladder rung 1080p dropped: the source is only 720p"}, notes)
		assert.Equal(t, Rung{Height: 720, Width: 1280, Bitrate: 3e6, SAR: Rational{1, 1}}, kept[0])
		// 853.3 rounds to an even 854; the pixel shape keeps 16:9 exact.
		assert.Equal(t, Rung{Height: 480, Width: 854, Bitrate: 1.2e6, SAR: Rational{1280, 1281}}, kept[1])
		assert.Equal(t, Rung{Height: 360, Width: 640, Bitrate: 6e5, SAR: Rational{1, 1}}, kept[2])
	})
	t.Run("anamorphic source", func(t *testing.T) {
		// 720x576 at 16:15 pixels shows as 768x576 (4:3).
		kept, _, err := FitLadder(rungs, 720, 576, Rational{16, 15})
		require.NoError(t, err)
		require.Len(t, kept, 2)
		assert.Equal(t, 640, kept[0].Width)
		assert.Equal(t, 480, kept[0].Height)
		assert.Equal(t, Rational{1, 1}, kept[0].SAR)
	})
	t.Run("a source below every rung gets one rung at its size", func(t *testing.T) {
		kept, notes, err := FitLadder(rungs, 320, 241, Rational{})
		require.NoError(t, err)
		require.Len(t, kept, 1)
		assert.Equal(t, 240, kept[0].Height)
		assert.Equal(t, int64(6e5), kept[0].Bitrate)
		assert.Len(t, notes, 5)
	})
	t.Run("unknown size", func(t *testing.T) {
		_, _, err := FitLadder(rungs, 0, 0, Rational{})
		assert.Error(t, err)
	})
}

func TestLadderCommand(t *testing.T) {
	c := LadderCommand{
		Input: "in.mp4", VideoStream: 0, TimeBase: Rational{1, 12800}, Seek: 102400,
		StartPTS: 102400, EndPTS: 204800, KeyTimes: []string{"3.999999"}, GOP: 200,
		Codec: LadderCodecs["libx264"], Options: []string{"-preset", "veryfast"},
		Rungs:   []Rung{{Height: 720, Width: 1280, Bitrate: 3e6, SAR: Rational{1, 1}}, {Height: 480, Width: 854, Bitrate: 1.2e6, SAR: Rational{1280, 1281}}},
		Outputs: []string{"r0.nut", "r1.nut"}, PassLogs: []string{"p0", "p1"}, Threads: 1,
	}
	args := strings.Join(c.Args(), " ")
	assert.Contains(t, args, "-ss 8.000000 -i in.mp4 -filter_complex [0:0]settb=expr=1/12800,trim=start_pts=102400:end_pts=204800,setpts=PTS-STARTPTS,split=2[s0][s1];"+
		"[s0]scale=1280:720,setsar=r=1/1:max=100,format=yuv420p[v0];[s1]scale=854:480,setsar=r=1280/1281:max=1281,format=yuv420p[v1]")
	assert.Contains(t, args, "-map [v0] -an -sn -dn -fps_mode passthrough -c:v libx264 -threads 1 -preset veryfast -b:v 3000000 -maxrate 4500000 -bufsize 6000000 -g 200 -sc_threshold 0 -forced-idr 1 -x264-params stitchable=1 -force_key_frames 3.999999 -f nut r0.nut")
	assert.Contains(t, args, "-b:v 1200000 -maxrate 1800000 -bufsize 2400000")
	assert.NotContains(t, args, "-pass")

	c.Pass = 1
	args = strings.Join(c.Args(), " ")
	assert.Contains(t, args, "-x264-params stitchable=1 -pass 1 -passlogfile p0 -force_key_frames 3.999999 -f null - -map [v1]")
	assert.Contains(t, args, "-pass 1 -passlogfile p1 -force_key_frames 3.999999 -f null -")
	assert.NotContains(t, args, "r0.nut")
	c.Pass = 2
	args = strings.Join(c.Args(), " ")
	assert.Contains(t, args, "-pass 2 -passlogfile p0 -force_key_frames 3.999999 -f nut r0.nut")

	c.Codec = LadderCodecs["libx265"]
	args = strings.Join(c.Args(), " ")
	assert.Contains(t, args, "-c:v libx265 -threads 1 -preset veryfast -b:v 3000000 -maxrate 4500000 -bufsize 6000000 -g 200 -forced-idr 1 -x265-params scenecut=0:open-gop=0:log-level=error:pass=2:stats=p0 -force_key_frames")
	assert.NotContains(t, args, "-pass ")
	c.Pass = 0
	args = strings.Join(c.Args(), " ")
	assert.Contains(t, args, "-x265-params scenecut=0:open-gop=0:log-level=error -force_key_frames")
}

func TestPackageCommand(t *testing.T) {
	c := PackageCommand{Lists: []string{"r0.ffconcat", "r1.ffconcat"}, VideoOffset: "0.500000",
		Audio: []string{"a0.mp4", "a1.mp4"}, Tag: "avc1", SegmentSecs: "4.000000", Manifest: "out/manifest.mpd"}
	args := strings.Join(c.Args(), " ")
	assert.Contains(t, args, "-itsoffset 0.500000 -f concat -safe 0 -i r0.ffconcat -itsoffset 0.500000 -f concat -safe 0 -i r1.ffconcat -i a0.mp4 -i a1.mp4")
	assert.Contains(t, args, "-map 0:v:0 -map 1:v:0 -map 2:a:0 -map 3:a:0 -c copy -tag:v avc1 -f dash -dash_segment_type mp4 -seg_duration 4.000000")
	assert.Contains(t, args, "-adaptation_sets id=0,streams=v id=1,streams=2 id=2,streams=3")
	assert.True(t, strings.HasSuffix(args, " out/manifest.mpd"))
}

func TestLadderAudioCommand(t *testing.T) {
	c := LadderAudioCommand{Input: "in.mkv", Streams: []int{1, 2}, Bitrate: 128000, Outputs: []string{"a0.mp4", "a1.mp4"}}
	assert.Equal(t, "-y -i in.mkv -map 0:1 -vn -sn -dn -c:a aac -b:a 128000 -ac 2 -f mp4 a0.mp4 -map 0:2 -vn -sn -dn -c:a aac -b:a 128000 -ac 2 -f mp4 a1.mp4",
		strings.Join(c.Args(), " "))
}

func TestLadderCommandThumbnails(t *testing.T) {
	c := LadderCommand{
		Input: "in.mp4", TimeBase: Rational{1, 25}, Seek: NoSeekPTS, StartPTS: 0, EndPTS: 200, GOP: 200,
		Codec:   LadderCodecs["libx264"],
		Rungs:   []Rung{{Height: 360, Width: 640, Bitrate: 6e5, SAR: Rational{1, 1}}},
		Outputs: []string{"r0.nut"}, PassLogs: []string{"p0"},
		Thumbs: []int{0, 50}, ThumbWidth: 160, ThumbHeight: 90, ThumbStart: 4, ThumbPattern: "t-%05d.jpg",
	}
	args := strings.Join(c.Args(), " ")
	assert.Contains(t, args, "split=2[s0][s1];[s1]select='eq(n,0)+eq(n,50)',scale=160:90,setsar=1,format=yuvj420p[thumbs];[s0]scale=640:360")
	assert.True(t, strings.HasSuffix(args, "-map [thumbs] -an -sn -dn -fps_mode passthrough -c:v mjpeg -q:v 4 -f image2 -start_number 4 t-%05d.jpg"), args)
	c.Pass = 1
	args = strings.Join(c.Args(), " ")
	assert.NotContains(t, args, "thumbs", "a first pass makes no thumbnails")
	assert.Contains(t, args, "split=1[s0]")
}

func TestThumbnailVTT(t *testing.T) {
	assert.Equal(t, `WEBVTT

00:00:00.000 --> 00:00:02.000
t.jpg#xywh=0,0,160,90

00:00:02.000 --> 00:00:04.000
t.jpg#xywh=160,0,160,90

00:00:04.000 --> 00:59:59.999
t.jpg#xywh=0,90,160,90
`, ThumbnailVTT("t.jpg", []float64{0, 2, 4}, 3599.9994, 2, 160, 90))
	assert.Equal(t, "-y -f image2 -start_number 0 -i t-%05d.jpg -frames:v 1 -vf tile=10x3 -q:v 4 s.jpg",
		strings.Join(SpriteCommand{Pattern: "t-%05d.jpg", Count: 25, Columns: 10, Rows: 3, Output: "s.jpg"}.Args(), " "))
}

func TestLadderSpecRoundTrip(t *testing.T) {
	rungs, err := ParseLadder("# a file\n720p:3M\n480p:1.2M # mid\n360p:600k\n")
	require.NoError(t, err)
	assert.Equal(t, "720p:3000k,480p:1200k,360p:600k", LadderSpec(rungs))
	again, err := ParseLadder(LadderSpec(rungs))
	require.NoError(t, err)
	assert.Equal(t, rungs, again)
}

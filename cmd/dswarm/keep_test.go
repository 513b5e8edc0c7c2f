package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// kept is what a file holds besides its frames' content, as ffprobe reads
// it: the properties a transcode must keep.
type kept struct {
	Streams  []keptStream
	Chapters []string
	Tags     map[string]string // global, without the encoder's own tag
}

type keptStream struct {
	Type, Codec string
	// Tags are the stream's, without those a muxer writes itself
	// (duration, statistics).
	Tags        map[string]string
	Disposition string
	FieldOrder  string
	Colour      string // range/space/transfer/primaries
	SideData    string // the stream's side data (display matrix: rotation)
	Frames      int    // video only
	Packets     int    // subtitles only: the captions kept
	// FrameSideData are the side data types of the first frame of the
	// first and of a later segment (video only, without the encoder's
	// unregistered-user-data SEI).
	FrameSideData []string
}

// selfWritten are tags a muxer or encoder writes on its own.
var selfWritten = map[string]bool{"duration": true, "number_of_frames": true, "number_of_bytes": true, "bps": true, "_statistics_writing_app": true,
	"_statistics_tags": true, "_statistics_writing_date_utc": true, "creation_time": true}

func probeKept(t *testing.T, path string) kept {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_streams", "-show_chapters", "-show_format", "-of", "json", path).Output()
	require.NoError(t, err, path)
	var pj struct {
		Streams []struct {
			Type        string            `json:"codec_type"`
			Codec       string            `json:"codec_name"`
			Tags        map[string]string `json:"tags"`
			Disposition map[string]int    `json:"disposition"`
			FieldOrder  string            `json:"field_order"`
			Range       string            `json:"color_range"`
			Space       string            `json:"color_space"`
			Transfer    string            `json:"color_transfer"`
			Primaries   string            `json:"color_primaries"`
			Packets     string            `json:"nb_read_packets"`
			SideData    []map[string]any  `json:"side_data_list"`
		} `json:"streams"`
		Chapters []struct {
			Start string            `json:"start_time"`
			End   string            `json:"end_time"`
			Tags  map[string]string `json:"tags"`
		} `json:"chapters"`
		Format struct {
			Tags map[string]string `json:"tags"`
		} `json:"format"`
	}
	require.NoError(t, json.Unmarshal(out, &pj))
	var k kept
	for i, s := range pj.Streams {
		ks := keptStream{Type: s.Type, Codec: s.Codec, Tags: map[string]string{}, FieldOrder: s.FieldOrder,
			Colour: strings.Join([]string{s.Range, s.Space, s.Transfer, s.Primaries}, "/")}
		for key, v := range s.Tags {
			key = strings.ToLower(key)
			if key == "encoder" && strings.HasSuffix(v, " ssa") {
				// ffmpeg's default ASS encoder is named ssa: the same one.
				v = strings.TrimSuffix(v, "ssa") + "ass"
			}
			if !selfWritten[key] {
				ks.Tags[key] = v
			}
		}
		var flags []string
		for f, on := range s.Disposition {
			if on != 0 {
				flags = append(flags, f)
			}
		}
		sort.Strings(flags)
		ks.Disposition = strings.Join(flags, "+")
		for _, sd := range s.SideData {
			ks.SideData += fmt.Sprintf("%v rotation=%v;", sd["side_data_type"], sd["rotation"])
		}
		if s.Type == "subtitle" {
			fmt.Sscan(s.Packets, &ks.Packets)
		}
		if s.Type == "video" {
			fmt.Sscan(s.Packets, &ks.Frames)
			ks.FrameSideData = frameSideData(t, path, i)
		}
		k.Streams = append(k.Streams, ks)
	}
	for _, c := range pj.Chapters {
		k.Chapters = append(k.Chapters, c.Start+"-"+c.End+" "+c.Tags["title"])
	}
	k.Tags = map[string]string{}
	for key, v := range pj.Format.Tags {
		if !selfWritten[strings.ToLower(key)] {
			k.Tags[strings.ToLower(key)] = v
		}
	}
	return k
}

// frameSideData lists the side data types (with their values) of the first
// frame and of the first frame from 2 s on, where a later segment starts.
func frameSideData(t *testing.T, path string, stream int) []string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", fmt.Sprint(stream),
		"-read_intervals", "%+#1,2%+#1", "-show_frames", "-show_entries", "frame_side_data", "-of", "json", path).Output()
	require.NoError(t, err)
	var pj struct {
		Frames []struct {
			SideData []map[string]any `json:"side_data_list"`
		} `json:"frames"`
	}
	require.NoError(t, json.Unmarshal(out, &pj))
	var types []string
	for i, f := range pj.Frames {
		for _, sd := range f.SideData {
			typ := fmt.Sprint(sd["side_data_type"])
			if strings.Contains(typ, "Unregistered") {
				continue
			}
			delete(sd, "side_data_type")
			types = append(types, fmt.Sprintf("frame %d: %s %v", i, typ, sd))
		}
	}
	return types
}

// singlePass runs plain ffmpeg on src with dswarm's stream selection (the
// first video stream, every audio and subtitle stream, attachments where
// the container takes them) and the same options. Frames pass through as
// in dswarm: ffmpeg's constant frame rate for MP4 would repeat the last
// frame of an MKV source, and dswarm keeps every frame exactly once.
func singlePass(t *testing.T, src, out string, opts ...string) {
	t.Helper()
	args := []string{"-nostdin", "-v", "error", "-y", "-i", src, "-map", "0:v:0", "-map", "0:a?", "-map", "0:s?"}
	if strings.HasSuffix(out, ".mkv") {
		args = append(args, "-map", "0:t?")
	}
	args = append(args, "-fps_mode", "passthrough")
	args = append(args, opts...)
	b, err := exec.Command("ffmpeg", append(args, out)...).CombinedOutput()
	require.NoError(t, err, "single-pass ffmpeg: %s", b)
}

// TestKeepsWhatSinglePassKeeps transcodes inputs that carry one property
// each with dswarm (--local, several segments) and with single-pass ffmpeg
// given the same options, and compares the stream list, codec per stream,
// tags, dispositions, colour, field order, rotation, chapters, frame count
// and the side data of the first frames.
func TestKeepsWhatSinglePassKeeps(t *testing.T) {
	x264 := []string{"-c:v", "libx264", "-preset", "ultrafast"}
	for _, tc := range []struct {
		name string
		spec func(testing.TB) testmedia.Spec
		ext  string
		opts []string
		// ref are options only the single pass needs to choose what dswarm
		// chooses by itself (ffmpeg converts subtitles to the container's
		// default codec unless told to copy them).
		ref []string
	}{
		{"ASS subtitles in MKV, first event after 1 s", spec(testmedia.ASSLate), ".mkv", x264, []string{"-c:s", "copy"}},
		{"SRT subtitles in MKV", spec(testmedia.Subtitles), ".mkv", x264, []string{"-c:s", "copy"}},
		{"mov_text to MKV becomes ASS", spec(testmedia.MovText), ".mkv", x264, nil},
		{"mov_text in MP4", spec(testmedia.MovText), ".mp4", x264, []string{"-c:s", "copy"}},
		// ffmpeg 5.1 has no default subtitle codec for MP4.
		{"SRT to MP4 becomes mov_text", spec(testmedia.Subtitles), ".mp4", x264, []string{"-c:s", "mov_text"}},
		{"SRT to WebM becomes WebVTT", spec(testmedia.Subtitles), ".webm",
			[]string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus"}, nil},
		{"chapters and global tags", spec(testmedia.Chapters), ".mkv", x264, nil},
		{"chapters into MP4", spec(testmedia.Chapters), ".mp4", x264, nil},
		{"-map_metadata -1 drops global tags", spec(testmedia.Chapters), ".mkv", append([]string{"-map_metadata", "-1"}, x264...), nil},
		{"-map_chapters -1 drops chapters", spec(testmedia.Chapters), ".mkv", append([]string{"-map_chapters", "-1"}, x264...), nil},
		// -t ends between frames: ffmpeg's own -t may round away a frame on the edge.
		{"chapters cut by -ss and -t", spec(testmedia.Chapters), ".mkv", append([]string{"-ss", "1", "-t", "2.98"}, x264...), nil},
		{"chapters cut by -ss, into MP4", spec(testmedia.Chapters), ".mp4", append([]string{"-ss", "2.5"}, x264...), nil},
		{"font attachment with ASS", spec(testmedia.Attachment), ".mkv", x264, []string{"-c:s", "copy"}},
		{"languages, titles, dispositions", spec(testmedia.Tagged), ".mkv", x264, []string{"-c:s", "copy"}},
		{"user's disposition wins", spec(testmedia.Tagged), ".mkv", append([]string{"-disposition:a:0", "default"}, x264...), []string{"-c:s", "copy"}},
		{"field order, interlaced", spec(testmedia.Interlaced), ".mkv", x264, nil},
		{"field order and colour, HEVC to MKV", spec(testmedia.HEVCColour), ".mkv", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"}, nil},
		{"colour with an encoder that has no VUI", spec(testmedia.HEVCColour), ".mkv", []string{"-c:v", "ffv1"}, nil},
		{"rotation", testmedia.Rotated, ".mp4", x264, nil},
		{"timecode, MOV", spec(testmedia.Timecode), ".mov", x264, nil},
		{"timecode, MOV to MKV", spec(testmedia.Timecode), ".mkv", x264, nil},
		{"PGS image subtitles in MKV", spec(testmedia.PGSInMKV), ".mkv", x264, []string{"-c:s", "copy"}},
		{"DVB image subtitles in MPEG-TS", testmedia.DVBInTS, ".ts", x264, []string{"-c:s", "copy"}},
		{"DVB image subtitles, MPEG-TS to MKV", testmedia.DVBInTS, ".mkv", x264, []string{"-c:s", "copy"}},
		{"DVD image subtitles in MKV", testmedia.DVDInMKV, ".mkv", x264, []string{"-c:s", "copy"}},
		// MP4 takes no PGS and a bitmap cannot become mov_text: single-pass
		// ffmpeg fails unless told -sn; dswarm drops the stream and says so.
		{"PGS to MP4 is dropped with a warning", spec(testmedia.PGSInMKV), ".mp4", x264, []string{"-sn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := testmedia.Generate(t, tc.spec(t))
			dir := t.TempDir()
			ref, out := filepath.Join(dir, "ref"+tc.ext), filepath.Join(dir, "out"+tc.ext)
			singlePass(t, src, ref, append(append([]string{}, tc.opts...), tc.ref...)...)
			code, _, stderr := transcode(t, append([]string{"--local", "--segment-duration", "1s", src, "-o", out}, tc.opts...)...)
			require.Equal(t, 0, code, stderr)
			if contains(tc.ref, "-sn") {
				assert.Contains(t, stderr, "dropping subtitle stream #2 (hdmv_pgs_subtitle): the mp4 container does not take hdmv_pgs_subtitle subtitles")
			} else {
				assert.NotContains(t, stderr, "warning")
			}
			want, got := probeKept(t, ref), probeKept(t, out)
			require.Equal(t, len(want.Streams), len(got.Streams), "streams: want %+v, got %+v", want.Streams, got.Streams)
			if contains(tc.opts, "-map_metadata") {
				// Known difference: with -map_metadata -1 a single run still
				// tags the streams it encodes with their encoder; the merge,
				// a stream copy, has no tags left to copy.
				for i := range want.Streams {
					delete(want.Streams[i].Tags, "encoder")
				}
			}
			for i := range want.Streams {
				assert.Equal(t, want.Streams[i], got.Streams[i], "stream %d", i)
			}
			assert.Equal(t, want.Chapters, got.Chapters, "chapters")
			assert.Equal(t, want.Tags, got.Tags, "global tags")
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func spec(s testmedia.Spec) func(testing.TB) testmedia.Spec {
	return func(testing.TB) testmedia.Spec { return s }
}

// TestHDR10Kept goes beyond single-pass ffmpeg 5.1, which drops HDR10
// static metadata: every segment's encoder gets the source's mastering
// display and content light level, so the first frame and the first frame
// of a later segment carry them, with the source's values.
func TestHDR10Kept(t *testing.T) {
	src := testmedia.Generate(t, testmedia.HDR10)
	srcSide := frameSideData(t, src, 0)
	require.Len(t, srcSide, 4, "the source has mastering display and light level on both frames: %v", srcSide)
	for _, tc := range []struct {
		name string
		ext  string
		opts []string
	}{
		{"x265", ".mkv", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"}},
		{"x265 with the user's parameters", ".mp4", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:keyint=30"}},
		{"SVT-AV1", ".mkv", []string{"-c:v", "libsvtav1", "-preset", "12"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ref, out := filepath.Join(dir, "ref"+tc.ext), filepath.Join(dir, "out"+tc.ext)
			singlePass(t, src, ref, tc.opts...)
			code, _, stderr := transcode(t, append([]string{"--local", "-q", "--segment-duration", "1s", src, "-o", out}, tc.opts...)...)
			require.Equal(t, 0, code, stderr)
			want, got := probeKept(t, ref), probeKept(t, out)
			require.Equal(t, len(want.Streams), len(got.Streams))
			w, g := want.Streams[0], got.Streams[0]
			assert.Empty(t, w.FrameSideData, "single-pass ffmpeg 5.1 drops HDR10 metadata; if it keeps it now, compare with it")
			if tc.name == "SVT-AV1" {
				// AV1 stores them in other units: check the kinds.
				require.Len(t, g.FrameSideData, 4, "%v", g.FrameSideData)
				for i, kind := range []string{"frame 0: Mastering display", "frame 0: Content light level metadata map[max_average:400 max_content:1000]", "frame 1: Mastering display", "frame 1: Content light level metadata map[max_average:400 max_content:1000]"} {
					assert.True(t, strings.HasPrefix(g.FrameSideData[i], kind), "%s: %s", kind, g.FrameSideData[i])
				}
			} else {
				assert.Equal(t, srcSide, g.FrameSideData)
			}
			w.FrameSideData, g.FrameSideData = nil, nil
			assert.Equal(t, w, g)
			assert.Equal(t, "tv/bt2020nc/smpte2084/bt2020", g.Colour)
		})
	}
}

// hdrSEIs reads an H.264 stream's mastering display and content light
// level SEI messages with ffmpeg's trace_headers (ffprobe 5.1 does not
// report them for H.264): one line of values per message.
func hdrSEIs(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-i", path, "-map", "0:v:0", "-c", "copy",
		"-bsf:v", "trace_headers", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var seis []string
	var cur []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.HasPrefix(f[0], "[trace_headers") {
			continue
		}
		name, value := f[4], f[len(f)-1]
		switch {
		case strings.HasPrefix(name, "display_primaries") || strings.HasPrefix(name, "white_point") ||
			name == "max_display_mastering_luminance" || name == "max_content_light_level":
			cur = append(cur, value)
		case name == "min_display_mastering_luminance" || name == "max_pic_average_light_level":
			seis = append(seis, strings.Join(append(cur, value), " "))
			cur = nil
		}
	}
	return seis
}

// TestHDR10KeptX264: x264 writes the source's mastering display and light
// level SEI at the start of every segment.
func TestHDR10KeptX264(t *testing.T) {
	src := testmedia.Generate(t, testmedia.HDR10)
	dir := t.TempDir()
	ref, out := filepath.Join(dir, "ref.mkv"), filepath.Join(dir, "out.mkv")
	opts := []string{"-c:v", "libx264", "-preset", "ultrafast"}
	singlePass(t, src, ref, opts...)
	code, stdout, stderr := transcode(t, append([]string{"--local", "-q", "--json", "--segment-duration", "1s", src, "-o", out}, opts...)...)
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, hdrSEIs(t, ref), "single-pass ffmpeg 5.1 drops HDR10 metadata")
	seis := hdrSEIs(t, out)
	segments := summaryOf(t, stdout).Segments
	require.Len(t, seis, 2*segments, "a mastering display and a light level message per segment: %v", seis)
	for i := 0; i < len(seis); i += 2 {
		assert.Equal(t, "13250 34500 7500 3000 34000 16000 15635 16450 10000000 1", seis[i])
		assert.Equal(t, "1000 400", seis[i+1])
	}
	want, got := probeKept(t, ref), probeKept(t, out)
	assert.Equal(t, want.Streams, got.Streams)
}

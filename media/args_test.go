package media

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSegmentCommandArgs(t *testing.T) {
	tests := []struct {
		name string
		cmd  SegmentCommand
		want []string
	}{
		{
			name: "seek, filter and options",
			cmd: SegmentCommand{
				Input: "in.mp4", VideoStream: 0, TimeBase: Rational{1, 12800},
				Seek: 25600, StartPTS: 27136, EndPTS: 52736,
				Filter:  "scale=640:-2",
				Options: []string{"-c:v", "libx264", "-crf", "23"},
				Output:  "/tmp/job/seg-0001.nut",
			},
			want: []string{
				"-y", "-copyts", "-noaccurate_seek", "-seek_timestamp", "1",
				"-ss", "2.000000",
				"-i", "in.mp4", "-map", "0:0", "-an", "-sn", "-dn",
				"-vf", "settb=expr=1/12800,trim=start_pts=27136:end_pts=52736,setpts=PTS-STARTPTS,scale=640:-2",
				"-fps_mode", "passthrough",
				"-c:v", "libx264", "-crf", "23",
				"-f", "nut", "/tmp/job/seg-0001.nut",
			},
		},
		{
			name: "first segment: no seek, no filter, no options",
			cmd: SegmentCommand{
				Input: "in.mp4", VideoStream: 2, TimeBase: Rational{1, 12800},
				Seek: NoSeekPTS, StartPTS: 0, EndPTS: 25600,
				Output: "seg-0000.nut",
			},
			want: []string{
				"-y", "-copyts", "-noaccurate_seek", "-seek_timestamp", "1",
				"-i", "in.mp4", "-map", "0:2", "-an", "-sn", "-dn",
				"-vf", "settb=expr=1/12800,trim=start_pts=0:end_pts=25600,setpts=PTS-STARTPTS",
				"-fps_mode", "passthrough",
				"-f", "nut", "seg-0000.nut",
			},
		},
		{
			// 30030/90000 s is 0.3336666...: the seek rounds up.
			name: "last segment: no end, NTSC time base",
			cmd: SegmentCommand{
				Input: "in.ts", VideoStream: 0, TimeBase: Rational{1, 90000},
				Seek: 30030, StartPTS: 33033, EndPTS: 99999, Last: true,
				Filter:  "hflip,scale=1280:-2",
				Options: []string{"-c:v", "ffv1"},
				Output:  "seg-0007.nut",
			},
			want: []string{
				"-y", "-copyts", "-noaccurate_seek", "-seek_timestamp", "1",
				"-ss", "0.333667",
				"-i", "in.ts", "-map", "0:0", "-an", "-sn", "-dn",
				"-vf", "settb=expr=1/90000,trim=start_pts=33033,setpts=PTS-STARTPTS,hflip,scale=1280:-2",
				"-fps_mode", "passthrough",
				"-c:v", "ffv1",
				"-f", "nut", "seg-0007.nut",
			},
		},
		{
			name: "seek to a negative timestamp",
			cmd: SegmentCommand{
				Input: "in.mp4", TimeBase: Rational{1, 12800},
				Seek: -1024, StartPTS: 512, EndPTS: 1024,
				Output: "s.nut",
			},
			want: []string{
				"-y", "-copyts", "-noaccurate_seek", "-seek_timestamp", "1",
				"-ss", "-0.080000",
				"-i", "in.mp4", "-map", "0:0", "-an", "-sn", "-dn",
				"-vf", "settb=expr=1/12800,trim=start_pts=512:end_pts=1024,setpts=PTS-STARTPTS",
				"-fps_mode", "passthrough",
				"-f", "nut", "s.nut",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.cmd.Args())
		})
	}
}

func TestAudioCommandArgs(t *testing.T) {
	tests := []struct {
		name string
		cmd  AudioCommand
		want []string
	}{
		{
			name: "with options",
			cmd:  AudioCommand{Input: "in.mp4", Options: []string{"-c:a", "libopus", "-b:a", "96k"}, Output: "audio.nut"},
			want: []string{"-y", "-i", "in.mp4", "-map", "0:a", "-vn", "-sn", "-dn", "-c:a", "libopus", "-b:a", "96k", "-f", "nut", "audio.nut"},
		},
		{
			name: "without options",
			cmd:  AudioCommand{Input: "in.mkv", Output: "a.nut"},
			want: []string{"-y", "-i", "in.mkv", "-map", "0:a", "-vn", "-sn", "-dn", "-f", "nut", "a.nut"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.cmd.Args())
		})
	}
}

func TestConcatList(t *testing.T) {
	tests := []struct {
		name    string
		entries []ConcatEntry
		want    string
	}{
		{
			name: "empty",
			want: "ffconcat version 1.0\n",
		},
		{
			name: "durations on all but the last",
			entries: []ConcatEntry{
				{Path: "/tmp/job/seg-0000.nut", Duration: "2.000000"},
				{Path: "/tmp/job/seg-0001.nut", Duration: "2.040000"},
				{Path: "/tmp/job/seg-0002.nut"},
			},
			want: "ffconcat version 1.0\n" +
				"file '/tmp/job/seg-0000.nut'\nduration 2.000000\n" +
				"file '/tmp/job/seg-0001.nut'\nduration 2.040000\n" +
				"file '/tmp/job/seg-0002.nut'\n",
		},
		{
			name: "single quotes and spaces in the path",
			entries: []ConcatEntry{
				{Path: "/home/me/it's mine/seg 0.nut", Duration: "0.033367"},
				{Path: "/tmp/''.nut"},
			},
			want: "ffconcat version 1.0\n" +
				`file '/home/me/it'\''s mine/seg 0.nut'` + "\nduration 0.033367\n" +
				`file '/tmp/'\'''\''.nut'` + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ConcatList(tt.entries))
		})
	}
}

func TestMergeCommandArgs(t *testing.T) {
	tests := []struct {
		name string
		cmd  MergeCommand
		want []string
	}{
		{
			name: "audio, subtitles converted, offset, muxer options",
			cmd: MergeCommand{
				List: "list.ffconcat", VideoOffset: "0.040000", Audio: "audio.nut", Source: "src.mp4",
				Subtitles: []int{2, 3}, SubCodecs: []string{"copy", "mov_text"},
				Options: []string{"-movflags", "+faststart"}, Output: "out.mp4",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-itsoffset", "0.040000", "-i", "list.ffconcat",
				"-i", "audio.nut", "-i", "src.mp4",
				"-map", "0:v:0", "-map", "1:a", "-map", "2:2", "-map", "2:3",
				"-map_metadata", "2", "-map_chapters", "2", "-c", "copy", "-c:s:1", "mov_text",
				"-movflags", "+faststart", "out.mp4",
			},
		},
		{
			name: "trimmed: the source input is trimmed like the audio",
			cmd: MergeCommand{
				List: "l", VideoOffset: "0.020000", Audio: "a.nut", Source: "src.mkv",
				SourceInput: []string{"-ss", "1.5", "-t", "2"}, Output: "out.mkv",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-itsoffset", "0.020000", "-i", "l",
				"-i", "a.nut", "-ss", "1.5", "-t", "2", "-i", "src.mkv",
				"-map", "0:v:0", "-map", "1:a", "-map_metadata", "2", "-map_chapters", "2", "-c", "copy", "out.mkv",
			},
		},
		{
			// Without audio the source becomes input 1.
			name: "no audio: source index shifts, zero offset left out",
			cmd: MergeCommand{
				List: "list.ffconcat", VideoOffset: "0.000000", Source: "src.mkv",
				Subtitles: []int{4}, SubCodecs: []string{"copy"}, Output: "out.mkv",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-i", "list.ffconcat",
				"-i", "src.mkv",
				"-map", "0:v:0", "-map", "1:4",
				"-map_metadata", "1", "-map_chapters", "1", "-c", "copy",
				"out.mkv",
			},
		},
		{
			name: "no subtitles: no subtitle codec, empty offset left out",
			cmd: MergeCommand{
				List: "l", Audio: "a.nut", Source: "src.mp4", SubCodecs: []string{"mov_text"}, Output: "o.mp4",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-i", "l",
				"-i", "a.nut", "-i", "src.mp4",
				"-map", "0:v:0", "-map", "1:a",
				"-map_metadata", "2", "-map_chapters", "2", "-c", "copy",
				"o.mp4",
			},
		},
		{
			name: "subtitles without a codec are copied by -c copy",
			cmd: MergeCommand{
				List: "l", Source: "src.mkv", Subtitles: []int{1, 2}, Output: "o.mkv",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-i", "l",
				"-i", "src.mkv",
				"-map", "0:v:0", "-map", "1:1", "-map", "1:2",
				"-map_metadata", "1", "-map_chapters", "1", "-c", "copy",
				"o.mkv",
			},
		},
		{
			name: "the user's -map_metadata -1: the source's is not copied",
			cmd: MergeCommand{
				List: "l", Source: "src.mkv", Options: []string{"-map_metadata", "-1"}, Output: "o.mkv",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-i", "l", "-i", "src.mkv",
				"-map", "0:v:0", "-map_chapters", "1", "-c", "copy", "-map_metadata", "-1", "o.mkv",
			},
		},
		{
			name: "trimmed chapters from an ffmetadata input",
			cmd: MergeCommand{
				List: "l", Source: "src.mkv", SourceInput: []string{"-ss", "1"}, Chapters: "ch.ffmeta", Output: "o.mkv",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-i", "l",
				"-ss", "1", "-i", "src.mkv", "-f", "ffmetadata", "-i", "ch.ffmeta",
				"-map", "0:v:0", "-map_metadata", "1", "-map_chapters", "2", "-c", "copy", "o.mkv",
			},
		},
		{
			name: "attachments, dispositions and the video's colour and field order, before the user's options",
			cmd: MergeCommand{
				List: "l", Audio: "a.nut", Source: "src.mkv", Subtitles: []int{3}, SubCodecs: []string{"copy"},
				Attachments: []int{4}, Dispositions: []string{"default", "0", "forced"},
				Video:   VideoParams{ColorRange: "tv", FieldOrder: "progressive"},
				Options: []string{"-disposition:a:0", "default"}, Output: "o.mkv",
			},
			want: []string{
				"-y", "-f", "concat", "-safe", "0", "-i", "l",
				"-i", "a.nut", "-i", "src.mkv",
				"-map", "0:v:0", "-map", "1:a", "-map", "2:3", "-map", "2:4",
				"-map_metadata", "2", "-map_chapters", "2", "-c", "copy",
				"-disposition:0", "default", "-disposition:1", "0", "-disposition:2", "forced",
				"-color_range:v:0", "tv", "-field_order:v:0", "progressive",
				"-disposition:a:0", "default", "o.mkv",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.cmd.Args())
		})
	}
}

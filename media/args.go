package media

import (
	"fmt"
	"strconv"
	"strings"
)

// SegmentCommand describes one segment's encode.
type SegmentCommand struct {
	Input       string
	VideoStream int      // absolute stream index in Input
	TimeBase    Rational // of that stream
	Seek        int64    // keyframe pts to seek to, or NoSeekPTS
	// StartPTS and EndPTS (exclusive, ignored when Last) bound the frames
	// kept: source timestamps, or with FrameRate, output frame slots.
	StartPTS  int64
	EndPTS    int64
	Last      bool
	FrameRate string   // "" keeps the source's timestamps
	Filter    string   // the user's -vf, applied after the cut
	Options   []string // the user's video options
	Output    string
	// Fit, when set, is the frame size and pixel format every frame is
	// scaled to after Filter: the first output frame's, to which ffmpeg
	// scales an input whose resolution changes mid-stream.
	Fit *FrameFormat
}

// NoSeekPTS as SegmentCommand.Seek decodes from the start of the file.
const NoSeekPTS = int64(-1 << 63)

// Args is the ffmpeg argument list for the segment. Timestamps are kept as
// in the source (-copyts, no accurate-seek trimming) so that the trim filter
// keeps exactly the frames whose pts fall in [StartPTS, EndPTS); the segment
// is then rebased to start at 0.
func (c SegmentCommand) Args() []string {
	args := []string{"-y", "-copyts", "-noaccurate_seek", "-seek_timestamp", "1"}
	if c.Seek != NoSeekPTS {
		args = append(args, "-ss", c.TimeBase.SecondsArg(c.Seek))
	}
	trim := "trim=start_pts=" + strconv.FormatInt(c.StartPTS, 10)
	if !c.Last {
		trim += ":end_pts=" + strconv.FormatInt(c.EndPTS, 10)
	}
	chain := []string{"settb=expr=" + c.TimeBase.String()}
	if c.FrameRate != "" {
		// On absolute timestamps, so that every segment lands on the same
		// grid of output slots as a whole-file conversion.
		chain = append(chain, "fps=fps="+c.FrameRate)
	}
	chain = append(chain, trim, "setpts=PTS-STARTPTS")
	if c.Filter != "" {
		chain = append(chain, c.Filter)
	}
	if c.Fit != nil {
		chain = append(chain, c.Fit.filters())
	}
	args = append(args,
		"-i", c.Input,
		"-map", "0:"+strconv.Itoa(c.VideoStream),
		"-an", "-sn", "-dn",
		"-vf", strings.Join(chain, ","),
		"-fps_mode", "passthrough",
	)
	args = append(args, c.Options...)
	return append(args, "-f", "nut", c.Output)
}

// AudioCommand encodes every audio stream of the whole input once.
type AudioCommand struct {
	Input   string
	Options []string // the user's audio options, including the codec
	Output  string
}

// Args is the ffmpeg argument list for the audio task.
func (c AudioCommand) Args() []string {
	args := []string{"-y", "-i", c.Input, "-map", "0:a", "-vn", "-sn", "-dn"}
	args = append(args, c.Options...)
	return append(args, "-f", "nut", c.Output)
}

// ConcatEntry is one segment file in a concat list.
type ConcatEntry struct {
	Path     string
	Duration string // seconds, as ffmpeg parses durations
}

// ConcatList renders the concat demuxer's list file. Each entry's duration is
// given explicitly so that joins fall exactly at the source's timestamps,
// also for variable frame rate.
func ConcatList(entries []ConcatEntry) string {
	var b strings.Builder
	b.WriteString("ffconcat version 1.0\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "file '%s'\n", strings.ReplaceAll(e.Path, "'", `'\''`))
		if e.Duration != "" {
			fmt.Fprintf(&b, "duration %s\n", e.Duration)
		}
	}
	return b.String()
}

// MergeCommand joins the segments, the audio and the source's subtitles and
// metadata into the output, copying every stream.
type MergeCommand struct {
	List        string // concat list
	VideoOffset string // seconds from the file's start to the first frame
	Audio       string // encoded audio file, "" for none
	Source      string // for subtitles, metadata and chapters
	// SourceInput are input options for Source (-ss/-t when trimming, so
	// that subtitles line up with the trimmed audio and video).
	SourceInput []string
	Subtitles   []int    // source stream indexes to keep
	SubCodecs   []string // for each of Subtitles: "copy" or a conversion such as "mov_text"
	Attachments []int    // source attachment streams to copy (fonts)
	// Dispositions, when set, is every output stream's -disposition value
	// in output order (video, audio, subtitles, attachments).
	Dispositions []string
	// Chapters, when set, is an ffmetadata file whose chapters are
	// written instead of the source's (the source's clipped to -ss/-t).
	Chapters string
	// Video is what the NUT segments lost of the encoder's declaration.
	Video   VideoParams
	Options []string
	Output  string
}

// dropsMetadata reports a -map_metadata -1 among the options: then the
// merge must not copy the source's, which a later -1 would not undo.
func dropsMetadata(options []string) bool {
	for i := 0; i+1 < len(options); i += 2 {
		if options[i] == "-map_metadata" && options[i+1] == "-1" {
			return true
		}
	}
	return false
}

// Args is the ffmpeg argument list for the merge.
func (c MergeCommand) Args() []string {
	args := []string{"-y", "-f", "concat", "-safe", "0"}
	if c.VideoOffset != "" && c.VideoOffset != "0.000000" {
		args = append(args, "-itsoffset", c.VideoOffset)
	}
	args = append(args, "-i", c.List)
	maps := []string{"-map", "0:v:0"}
	n := 1
	if c.Audio != "" {
		args = append(args, "-i", c.Audio)
		maps = append(maps, "-map", strconv.Itoa(n)+":a")
		n++
	}
	args = append(args, c.SourceInput...)
	args = append(args, "-i", c.Source)
	for _, s := range c.Subtitles {
		maps = append(maps, "-map", fmt.Sprintf("%d:%d", n, s))
	}
	for _, s := range c.Attachments {
		maps = append(maps, "-map", fmt.Sprintf("%d:%d", n, s))
	}
	chapters := n
	if c.Chapters != "" {
		args = append(args, "-f", "ffmetadata", "-i", c.Chapters)
		chapters = n + 1
	}
	args = append(args, maps...)
	if !dropsMetadata(c.Options) {
		args = append(args, "-map_metadata", strconv.Itoa(n))
	}
	args = append(args, "-map_chapters", strconv.Itoa(chapters), "-c", "copy")
	for i, codec := range c.SubCodecs {
		if codec != "" && codec != "copy" && i < len(c.Subtitles) {
			args = append(args, fmt.Sprintf("-c:s:%d", i), codec)
		}
	}
	for i, d := range c.Dispositions {
		args = append(args, fmt.Sprintf("-disposition:%d", i), d)
	}
	args = append(args, c.Video.Args()...)
	// The user's own options come last: theirs win.
	args = append(args, c.Options...)
	return append(args, c.Output)
}

package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoVideo is returned for inputs without a video stream to segment.
var ErrNoVideo = errors.New("no video stream")

// Stream is one stream of a probed file, as much of it as dswarm uses.
type Stream struct {
	Index       int
	Type        string // "video", "audio", "subtitle", "data", "attachment"
	Codec       string
	TimeBase    Rational
	StartPTS    int64
	HasStart    bool
	Width       int
	Height      int
	PixFmt      string
	FrameRate   Rational // average frame rate
	Duration    float64  // seconds, 0 when the container does not say
	Channels    int
	SampleRate  int
	AttachedPic bool
	// Disposition holds the flags ffprobe reports set (default, forced, ...).
	Disposition map[string]bool
	// Colour and field order as the container or bitstream declares them,
	// "" when unknown.
	ColorRange, ColorSpace, ColorTransfer, ColorPrimaries, FieldOrder string
}

// Info is what ffprobe reports of a file's container and streams.
type Info struct {
	Path       string
	FormatName string
	StartTime  float64 // seconds
	Duration   float64 // seconds
	Size       int64
	Streams    []Stream
	Chapters   []Chapter
}

// Video returns the stream dswarm segments: the first video stream that is
// not cover art.
func (i *Info) Video() (Stream, error) {
	for _, s := range i.Streams {
		if s.Type == "video" && !s.AttachedPic {
			return s, nil
		}
	}
	return Stream{}, ErrNoVideo
}

// Audio returns the audio streams in file order.
func (i *Info) Audio() []Stream { return i.ofType("audio") }

// Subtitles returns the subtitle streams in file order.
func (i *Info) Subtitles() []Stream { return i.ofType("subtitle") }

func (i *Info) ofType(t string) []Stream {
	var out []Stream
	for _, s := range i.Streams {
		if s.Type == t {
			out = append(out, s)
		}
	}
	return out
}

// Probe runs ffprobe on path and parses its JSON report.
func Probe(ctx context.Context, path string) (*Info, error) {
	out, err := runTool(ctx, "ffprobe", "-v", "error", "-show_format", "-show_streams", "-show_chapters", "-of", "json", "--", path)
	if err != nil {
		var te *ToolError
		if errors.As(err, &te) {
			// ffprobe starts its line with the path, which the caller names.
			te.LastLine = strings.ReplaceAll(te.LastLine, path+": ", "")
		}
		return nil, err
	}
	info, err := ParseProbe(out)
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	info.Path = path
	return info, nil
}

type probeJSON struct {
	Format struct {
		FormatName string `json:"format_name"`
		StartTime  string `json:"start_time"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
	} `json:"format"`
	Streams []struct {
		Index          int            `json:"index"`
		CodecType      string         `json:"codec_type"`
		CodecName      string         `json:"codec_name"`
		TimeBase       string         `json:"time_base"`
		StartPTS       *int64         `json:"start_pts"`
		Width          int            `json:"width"`
		Height         int            `json:"height"`
		PixFmt         string         `json:"pix_fmt"`
		AvgFrame       string         `json:"avg_frame_rate"`
		Duration       string         `json:"duration"`
		Channels       int            `json:"channels"`
		SampleRate     string         `json:"sample_rate"`
		Disposition    map[string]int `json:"disposition"`
		ColorRange     string         `json:"color_range"`
		ColorSpace     string         `json:"color_space"`
		ColorTransfer  string         `json:"color_transfer"`
		ColorPrimaries string         `json:"color_primaries"`
		FieldOrder     string         `json:"field_order"`
	} `json:"streams"`
	Chapters []struct {
		TimeBase string            `json:"time_base"`
		Start    int64             `json:"start"`
		End      int64             `json:"end"`
		Tags     map[string]string `json:"tags"`
	} `json:"chapters"`
}

// ParseProbe parses the JSON of `ffprobe -show_format -show_streams -of json`.
func ParseProbe(data []byte) (*Info, error) {
	var pj probeJSON
	if err := json.Unmarshal(data, &pj); err != nil {
		return nil, fmt.Errorf("parse ffprobe json: %w", err)
	}
	info := &Info{
		FormatName: pj.Format.FormatName,
		StartTime:  parseFloat(pj.Format.StartTime),
		Duration:   parseFloat(pj.Format.Duration),
		Size:       int64(parseFloat(pj.Format.Size)),
	}
	for _, s := range pj.Streams {
		tb, _ := ParseRational(s.TimeBase)
		fr, _ := ParseRational(s.AvgFrame)
		st := Stream{
			Index:       s.Index,
			Type:        s.CodecType,
			Codec:       s.CodecName,
			TimeBase:    tb,
			Width:       s.Width,
			Height:      s.Height,
			PixFmt:      s.PixFmt,
			FrameRate:   fr,
			Duration:    parseFloat(s.Duration),
			Channels:    s.Channels,
			SampleRate:  int(parseFloat(s.SampleRate)),
			AttachedPic: s.Disposition["attached_pic"] == 1,

			ColorRange:     known(s.ColorRange),
			ColorSpace:     known(s.ColorSpace),
			ColorTransfer:  known(s.ColorTransfer),
			ColorPrimaries: known(s.ColorPrimaries),
			FieldOrder:     known(s.FieldOrder),
		}
		for k, v := range s.Disposition {
			if v != 0 {
				if st.Disposition == nil {
					st.Disposition = map[string]bool{}
				}
				st.Disposition[k] = true
			}
		}
		if s.StartPTS != nil {
			st.StartPTS, st.HasStart = *s.StartPTS, true
		}
		info.Streams = append(info.Streams, st)
	}
	for _, c := range pj.Chapters {
		tb, err := ParseRational(c.TimeBase)
		if err != nil || tb.Num <= 0 || tb.Den <= 0 {
			continue
		}
		info.Chapters = append(info.Chapters, Chapter{TimeBase: tb, Start: c.Start, End: c.End, Tags: c.Tags})
	}
	return info, nil
}

// known is ffprobe's value, "" for its words for not knowing.
func known(v string) string {
	if v == "unknown" || v == "unspecified" || v == "reserved" {
		return ""
	}
	return v
}

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f
}

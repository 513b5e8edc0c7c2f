package media

import (
	"fmt"
	"path/filepath"

	"strings"
)

// What an output container keeps of the source besides the encoded video
// and audio: subtitles (copied, or converted where the container needs
// another codec), attachments, dispositions. The tables are ffmpeg 5.1's
// muxers, checked against the installed ffmpeg by keep_ffmpeg_test.go.

// extMuxers is the muxer ffmpeg picks for an output ending.
var extMuxers = map[string]string{
	".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".3gp": "3gp", ".mkv": "matroska", ".mka": "matroska",
	".webm": "webm", ".ts": "mpegts", ".m2ts": "mpegts", ".mts": "mpegts", ".nut": "nut", ".avi": "avi",
	".flv": "flv", ".ogv": "ogg", ".ogg": "ogg", ".mxf": "mxf", ".asf": "asf", ".wmv": "asf",
	".mpg": "mpeg", ".mpeg": "mpeg",
}

// OutputMuxer is the muxer ffmpeg writes output with: the last -f among the
// merge options, else the one its ending picks ("" when unknown).
func OutputMuxer(output string, mergeOptions []string) string {
	muxer := extMuxers[strings.ToLower(filepath.Ext(output))]
	for i := 0; i+1 < len(mergeOptions); i++ {
		if mergeOptions[i] == "-f" {
			muxer = mergeOptions[i+1]
			i++
		}
	}
	return muxer
}

// Subtitle codecs by kind: text can be converted to any text codec, bitmaps
// only to bitmaps (and ffmpeg has no PGS encoder).
var (
	textSubtitles = set("subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text", "microdvd",
		"subviewer", "subviewer1", "jacosub", "sami", "realtext", "stl", "pjs", "mpl2", "vplayer", "ttml")
	bitmapSubtitles = set("dvd_subtitle", "dvb_subtitle", "hdmv_pgs_subtitle", "xsub")
)

// subtitleMuxers lists, per muxer, the subtitle codecs it stores as
// subtitles and, first, the one text subtitles are converted to when it
// takes text but not the source's codec (as ffmpeg's default for it).
var subtitleMuxers = map[string]struct {
	takes []string
	text  string // conversion target for other text codecs, "" if none
}{
	"mp4":      {[]string{"mov_text", "dvd_subtitle"}, "mov_text"},
	"mov":      {[]string{"mov_text"}, "mov_text"},
	"ipod":     {[]string{"mov_text"}, "mov_text"},
	"3gp":      {[]string{"mov_text"}, "mov_text"},
	"matroska": {[]string{"ass", "ssa", "subrip", "webvtt", "text", "dvd_subtitle", "dvb_subtitle", "hdmv_pgs_subtitle"}, "ass"},
	"webm":     {[]string{"webvtt"}, "webvtt"},
	"mpegts":   {[]string{"dvb_subtitle", "dvb_teletext"}, ""},
	"nut":      {[]string{"ass", "ssa", "text", "dvd_subtitle", "dvb_subtitle"}, "ass"},
	"flv":      {[]string{"text"}, "text"},
	"mpeg":     {[]string{"dvd_subtitle"}, ""},
}

// SubtitleCodec decides how one subtitle stream of codec reaches a file
// written by muxer: "copy" when the container takes it, the codec to
// convert it to when the container takes another text codec, or an error
// naming why it cannot be kept. user is the user's -c:s ("" for none),
// which applies to every subtitle stream, as in ffmpeg.
func SubtitleCodec(muxer, codec, user string) (string, error) {
	m, ok := subtitleMuxers[muxer]
	takes := func(c string) bool { return ok && contains(m.takes, c) }
	if user != "" {
		target := user
		if user == "copy" {
			target = codec
		}
		target = encoderCodec(target)
		if !takes(target) {
			return "", fmt.Errorf("the %s container does not take %s subtitles%s", muxerName(muxer), target, takesList(muxer))
		}
		if user != "copy" && bitmapSubtitles[codec] != bitmapSubtitles[target] {
			return "", fmt.Errorf("%s subtitles cannot be converted to %s (text and bitmap subtitles do not convert into each other)", codec, target)
		}
		return user, nil
	}
	switch {
	case takes(codec):
		return "copy", nil
	case textSubtitles[codec] && ok && m.text != "":
		return m.text, nil
	case textSubtitles[codec]:
		return "", fmt.Errorf("the %s container takes no text subtitles%s", muxerName(muxer), takesList(muxer))
	}
	return "", fmt.Errorf("the %s container does not take %s subtitles%s", muxerName(muxer), codec, takesList(muxer))
}

// encoderCodec is the codec an encoder name writes (srt writes subrip).
func encoderCodec(name string) string {
	switch name {
	case "srt":
		return "subrip"
	case "dvdsub":
		return "dvd_subtitle"
	case "dvbsub":
		return "dvb_subtitle"
	}
	return name
}

func muxerName(m string) string {
	if m == "" {
		return "output"
	}
	return m
}

func takesList(muxer string) string {
	m, ok := subtitleMuxers[muxer]
	if !ok || len(m.takes) == 0 {
		return ""
	}
	return " (it takes " + strings.Join(m.takes, ", ") + ")"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TakesAttachments tells whether a muxer stores attachment streams (fonts
// for ASS subtitles, cover images): only Matroska does.
func TakesAttachments(muxer string) bool { return muxer == "matroska" }

// dispositionFlags are the flags -disposition takes, in ffmpeg's order.
var dispositionFlags = []string{"default", "dub", "original", "comment", "lyrics", "karaoke",
	"forced", "hearing_impaired", "visual_impaired", "clean_effects", "attached_pic", "captions",
	"descriptions", "dependent", "metadata"}

// DispositionArg renders a stream's disposition as -disposition's value:
// its flags joined by '+', or "0" for none.
func DispositionArg(d map[string]bool) string {
	var on []string
	for _, f := range dispositionFlags {
		if d[f] {
			on = append(on, f)
		}
	}
	if len(on) == 0 {
		return "0"
	}
	return strings.Join(on, "+")
}

// OutputStream is one stream of the merged output with the disposition it
// should carry.
type OutputStream struct {
	Type        string // "video", "audio", "subtitle", "attachment"
	Disposition map[string]bool
}

// Dispositions computes each output stream's disposition as a single ffmpeg
// run would set it: copied from its source stream, and, for every type with
// more than one stream none of which is default, the first made default.
// ffmpeg skips that second step when any -disposition is given; so does
// auto=false.
func Dispositions(streams []OutputStream, auto bool) []string {
	out := make([]string, len(streams))
	count, hasDefault, first := map[string]int{}, map[string]bool{}, map[string]int{}
	for i, s := range streams {
		count[s.Type]++
		if s.Disposition["default"] {
			hasDefault[s.Type] = true
		}
		if _, ok := first[s.Type]; !ok && !s.Disposition["attached_pic"] {
			first[s.Type] = i
		}
	}
	for i, s := range streams {
		d := s.Disposition
		if auto && count[s.Type] > 1 && !hasDefault[s.Type] && first[s.Type] == i && s.Type != "attachment" {
			d = map[string]bool{"default": true}
			for k, v := range s.Disposition {
				d[k] = v
			}
		}
		out[i] = DispositionArg(d)
	}
	return out
}

// VideoParams are the video stream's properties NUT segments do not carry
// and the merge sets again on the copied stream: colour and field order as
// the encoder declared them ("" to leave alone).
type VideoParams struct {
	ColorRange, ColorSpace, ColorTransfer, ColorPrimaries, FieldOrder string
}

// VideoParamsOf reads them from a probed stream.
func VideoParamsOf(s Stream) VideoParams {
	return VideoParams{ColorRange: s.ColorRange, ColorSpace: s.ColorSpace, ColorTransfer: s.ColorTransfer,
		ColorPrimaries: s.ColorPrimaries, FieldOrder: s.FieldOrder}
}

// Args are the merge's options setting them on output video stream 0.
func (p VideoParams) Args() []string {
	var args []string
	for _, kv := range [][2]string{{"-color_range:v:0", p.ColorRange}, {"-color_primaries:v:0", p.ColorPrimaries},
		{"-color_trc:v:0", p.ColorTransfer}, {"-colorspace:v:0", p.ColorSpace}, {"-field_order:v:0", p.FieldOrder}} {
		if kv[1] != "" && wordValue.MatchString(kv[1]) {
			args = append(args, kv[0], kv[1])
		}
	}
	return args
}

package media

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Options are the user's ffmpeg output options sorted by the task that
// applies them: video options go to every segment, audio options to the one
// audio task, muxer options to the merge.
type Options struct {
	Video       []string
	VideoCodec  string // "" when the user left it to the container's default
	VideoFilter string
	FrameRate   string // -r, "" when not given
	Audio       []string
	AudioCodec  string
	NoAudio     bool
	SubCodec    string
	NoSubtitles bool
	Global      []string
	Overwrite   bool
	// Trim is -ss/-t/-to: the part of the input to transcode, in seconds
	// from the input's start, as ffmpeg's output options mean them.
	Trim Trim
}

// Trim is a window [Start, End) of the input's timeline; End is +Inf
// without -t or -to.
type Trim struct {
	Start, End float64
	Set        bool
}

// OptionError is an option the segmented path cannot honour, or cannot parse.
type OptionError struct {
	Option string
	Reason string
}

func (e *OptionError) Error() string { return fmt.Sprintf("option %s: %s", e.Option, e.Reason) }

// flags that take no value.
var booleanOptions = map[string]bool{
	"an": true, "vn": true, "sn": true, "dn": true, "y": true, "n": true,
	"shortest": true, "copyts": true, "start_at_zero": true, "stats": true,
	"nostats": true, "hide_banner": true, "nostdin": true, "re": true,
	"benchmark": true, "benchmark_all": true, "debug_ts": true, "accurate_seek": true,
	"noaccurate_seek": true, "ignore_unknown": true, "copy_unknown": true,
}

// refused lists options dswarm cannot apply per segment, with the reason.
var refused = map[string]string{
	"i":                     "inputs are given once, as INPUT",
	"filter_complex":        "a filter graph spans the whole timeline and cannot be split; use -vf or -af",
	"lavfi":                 "a filter graph spans the whole timeline and cannot be split; use -vf or -af",
	"filter_complex_script": "reads another file",
	"filter_script":         "reads another file",
	"map":                   "dswarm maps the first video stream and all audio and subtitle streams itself",
	"sseof":                 "give the start with -ss instead",
	"fs":                    "a size limit cannot be split across segments",
	"frames":                "a frame limit cannot be split across segments",
	"vframes":               "a frame limit cannot be split across segments",
	"aframes":               "a frame limit cannot be split across segments",
	"dframes":               "a frame limit cannot be split across segments",
	"pass":                  "two-pass encoding writes a log file per segment; use -crf or -b:v",
	"passlogfile":           "writes another file",
	"attach":                "reads another file",
	"dump_attachment":       "writes another file",
	"vstats":                "writes another file",
	"vstats_file":           "writes another file",
	"report":                "writes another file",
	"progress":              "dswarm reports progress itself",
	"itsoffset":             "an input option; dswarm keeps the source's timing",
	"stream_loop":           "an input option",
	"copyts":                "dswarm keeps the source's timing itself",
	"start_at_zero":         "dswarm keeps the source's timing itself",
	"vsync":                 "dswarm passes every source frame through; use -r to change the rate",
	"fps_mode":              "dswarm passes every source frame through; use -r to change the rate",
	"async":                 "dswarm keeps the source's timing itself",
	"vn":                    "dswarm transcodes video; use ffmpeg directly for audio-only output",
	"timelimit":             "a time limit cannot be split across segments",
	"shortest":              "dswarm keeps every stream whole",
}

// refusedFilters are filters a segment cannot apply exactly: they depend on
// time or on neighbouring frames across a cut, or read and write other files.
var refusedFilters = map[string]string{}

func init() {
	for _, f := range []string{"fade", "select", "trim", "setpts", "fps", "framerate", "framestep",
		"loop", "reverse", "tmix", "tblend", "minterpolate", "deflicker", "mpdecimate", "decimate",
		"fieldmatch", "telecine", "interlace", "tinterlace", "yadif", "bwdif", "w3fdif", "estdif",
		"atadenoise", "hqdn3d", "fftdnoiz", "lagfun", "photosensitivity", "random", "zoompan",
		"xfade", "framepack", "separatefields", "weave", "doubleweave", "dejudder", "pullup",
		"detelecine", "shuffleframes", "setrange"} {
		refusedFilters[f] = "depends on time or on neighbouring frames, which a segment cut breaks"
	}
	for _, f := range []string{"atrim", "asetpts", "atempo", "aloop", "apad", "asetrate", "aselect", "areverse"} {
		refusedFilters[f] = "changes the audio's length or timing against the video"
	}
	for _, f := range []string{"movie", "amovie", "subtitles", "ass", "lut3d", "lut1d", "haldclut",
		"sendcmd", "asendcmd", "zmq", "azmq", "frei0r", "ladspa", "lv2", "vidstabdetect",
		"vidstabtransform", "signature", "psnr", "ssim", "libvmaf", "metadata", "ametadata",
		"cover_rect", "find_rect", "removelogo", "drawtext", "ocr", "overlay", "paletteuse"} {
		refusedFilters[f] = "reads or writes other files, or needs another input"
	}
}

var videoOnly = set("crf", "preset", "tune", "level", "pix_fmt", "g", "bf", "x264-params",
	"x264opts", "x265-params", "svtav1-params", "aom-params", "maxrate", "bufsize", "minrate",
	"qp", "s", "aspect", "threads", "keyint_min", "sc_threshold", "refs", "qmin", "qmax",
	"cpu-used", "deadline", "row-mt", "tile-columns", "tile-rows", "lag-in-frames",
	"auto-alt-ref", "quality", "speed", "vtag", "color_primaries", "color_trc", "colorspace",
	"color_range", "field_order", "top", "mbd", "trellis", "subq", "me_range", "me_method",
	"rc-lookahead", "b_strategy", "coder", "slices", "vprofile", "vpre", "intra", "x264-preset",
	"forced-idr", "force_key_frames", "weightp", "weightb", "aq-mode", "aq-strength", "psy-rd",
	"b-pyramid", "nal-hrd", "vbv-init", "vf", "sws_flags", "flags", "qdiff", "qcomp", "qblur")

var audioOnly = set("ar", "ac", "aq", "ab", "sample_fmt", "channel_layout", "ch_layout", "cutoff",
	"frame_size", "vbr", "application", "compression_level", "apre", "aprofile", "atag",
	"afterburner", "af", "frame_duration", "mapping_family", "packet_loss", "fec")

var muxerOnly = set("f", "movflags", "metadata", "brand", "write_tmcd", "map_metadata",
	"map_chapters", "fflags", "avoid_negative_ts", "muxdelay", "muxpreload", "disposition",
	"max_interleave_delta", "use_editlist", "write_id3v2", "id3v2_version",
	"cluster_size_limit", "cues_to_front", "reserve_index_space", "write_crc32",
	"live", "dash", "frag_duration", "frag_size", "min_frag_duration", "movie_timescale",
	"video_track_timescale", "mpegts_flags", "mpegts_service_id", "timestamp")

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// ParseOptions sorts ffmpeg output options by task and refuses those the
// segmented path cannot honour exactly or that would touch other files.
func ParseOptions(args []string) (Options, error) {
	var o Options
	videoCodecOption := "" // the option that set the video codec, for errors
	trimDur, trimTo := -1.0, -1.0
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if len(tok) < 2 || tok[0] != '-' {
			return o, &OptionError{Option: tok, Reason: "not an option; ffmpeg output options come as -name [value], and the output path goes in -o"}
		}
		name := tok[1:]
		base, spec, _ := strings.Cut(name, ":")
		if why, ok := refused[base]; ok {
			return o, &OptionError{Option: tok, Reason: "not supported by dswarm: " + why}
		}
		if booleanOptions[base] {
			switch base {
			case "an":
				o.NoAudio = true
			case "sn":
				o.NoSubtitles = true
			case "y":
				o.Overwrite = true
			case "dn", "n", "stats", "nostats", "hide_banner", "nostdin":
				// dswarm drops data streams and runs ffmpeg quietly anyway.
			default:
				return o, &OptionError{Option: tok, Reason: "not supported by dswarm"}
			}
			continue
		}
		if i+1 >= len(args) {
			return o, &OptionError{Option: tok, Reason: "missing its value"}
		}
		val := args[i+1]
		i++
		if err := checkValue(tok, base, val); err != nil {
			return o, err
		}
		kind := spec
		if k, _, _ := strings.Cut(spec, ":"); k != "" {
			kind = k
		}
		switch {
		case (base == "ss" || base == "t" || base == "to") && spec == "":
			v, err := ParseTime(val)
			if err != nil || v < 0 || (base == "t" && v == 0) {
				return o, &OptionError{Option: tok, Reason: fmt.Sprintf("%q is not a time (seconds, or [HH:]MM:SS[.frac])", val)}
			}
			switch base {
			case "ss":
				o.Trim.Start = v
			case "t":
				trimDur = v
			case "to":
				trimTo = v
			}
			o.Trim.Set = true
		case base == "ss" || base == "t" || base == "to":
			return o, &OptionError{Option: tok, Reason: "trims every stream alike; give it without a stream type"}
		case base == "c" || base == "codec" || base == "vcodec" || base == "acodec" || base == "scodec":
			before := o.VideoCodec
			if err := o.setCodec(tok, base, kind, val); err != nil {
				return o, err
			}
			if o.VideoCodec != before {
				videoCodecOption = tok
			}
		case base == "vf" || (base == "filter" && kind == "v"):
			if o.VideoFilter != "" {
				o.VideoFilter += ","
			}
			o.VideoFilter += val
		case base == "af" || (base == "filter" && kind == "a"):
			o.Audio = append(o.Audio, "-af", val)
		case base == "filter":
			return o, &OptionError{Option: tok, Reason: "give it a stream type: -filter:v or -filter:a"}
		case base == "r" && (kind == "" || kind == "v"):
			o.FrameRate = val
		case base == "strict":
			o.Video = append(o.Video, tok, val)
			o.Audio = append(o.Audio, tok, val)
			o.Global = append(o.Global, tok, val)
		case muxerOnly[base] || kind == "s" || kind == "d":
			o.Global = append(o.Global, tok, val)
		case kind == "a" || (kind == "" && audioOnly[base]):
			o.Audio = append(o.Audio, tok, val)
		case kind == "v" || kind == "" || videoOnly[base]:
			// Options without a stream type are encoder options in practice;
			// an unknown one is caught by the preflight encode.
			o.Video = append(o.Video, tok, val)
		default:
			return o, &OptionError{Option: tok, Reason: "unknown stream specifier " + spec}
		}
	}
	if o.Trim.Set {
		// As in ffmpeg, -t wins over -to.
		o.Trim.End = math.Inf(1)
		switch {
		case trimDur > 0:
			o.Trim.End = o.Trim.Start + trimDur
		case trimTo >= 0:
			if trimTo <= o.Trim.Start {
				return o, &OptionError{Option: "-to", Reason: fmt.Sprintf("%g is not after -ss %g", trimTo, o.Trim.Start)}
			}
			o.Trim.End = trimTo
		}
		if o.FrameRate != "" {
			return o, &OptionError{Option: "-r", Reason: "not supported together with -ss/-t/-to yet"}
		}
	}
	// Checked at the end: "-c copy -c:v libx264" copies audio only.
	if o.VideoCodec == "copy" {
		return o, &OptionError{Option: videoCodecOption, Reason: "video stream copy cannot be cut frame-exactly; dswarm is for transcoding (use ffmpeg -c copy to remux)"}
	}
	return o, nil
}

func (o *Options) setCodec(tok, base, kind, val string) error {
	switch {
	case base == "vcodec" || kind == "v":
		o.VideoCodec = val
	case base == "acodec" || kind == "a":
		o.AudioCodec = val
	case base == "scodec" || kind == "s":
		o.SubCodec = val
	case kind == "":
		o.VideoCodec, o.AudioCodec = val, val
	default:
		return &OptionError{Option: tok, Reason: "unknown stream specifier"}
	}
	return nil
}

// checkValue refuses values that would make ffmpeg read or write files or
// that use filters a segment cannot apply.
func checkValue(tok, base, val string) error {
	if base == "vf" || base == "af" || base == "filter" {
		for _, f := range filterNames(val) {
			if why, ok := refusedFilters[f]; ok {
				return &OptionError{Option: tok, Reason: fmt.Sprintf("filter %q is not supported by dswarm: %s", f, why)}
			}
		}
	}
	if strings.HasSuffix(base, "-params") || base == "x264opts" {
		for _, kv := range strings.Split(val, ":") {
			k, _, _ := strings.Cut(kv, "=")
			switch k {
			case "stats", "qpfile", "zones-file", "csv", "dump-yuv", "analysis-save", "analysis-load", "pass", "cqmfile":
				return &OptionError{Option: tok, Reason: fmt.Sprintf("%s reads or writes another file", k)}
			}
		}
	}
	return nil
}

// filterNames returns the names of the filters in a filter chain such as
// "scale=640:-2,hqdn3d" (labels and arguments dropped).
func filterNames(chain string) []string {
	var names []string
	for _, part := range splitUnquoted(chain, ",;") {
		part = strings.TrimSpace(part)
		for strings.HasPrefix(part, "[") { // input labels
			end := strings.Index(part, "]")
			if end < 0 {
				break
			}
			part = strings.TrimSpace(part[end+1:])
		}
		name, _, _ := strings.Cut(part, "=")
		name, _, _ = strings.Cut(name, "[") // output labels: "yadif[out]"
		name, _, _ = strings.Cut(name, "@") // instance names
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// splitUnquoted splits s at any of seps outside single quotes,
// honouring backslash escapes, as ffmpeg's filter parser does.
func splitUnquoted(s, seps string) []string {
	var parts []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
			continue
		case c == '\'':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, c) >= 0:
			parts = append(parts, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteByte(c)
	}
	return append(parts, cur.String())
}

// ParseTime reads an ffmpeg time: seconds ("12.5", "1500ms", "90s") or
// [-][HH:]MM:SS[.frac].
func ParseTime(s string) (float64, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var v float64
	var err error
	switch {
	case strings.Contains(s, ":"):
		parts := strings.Split(s, ":")
		if len(parts) > 3 {
			return 0, fmt.Errorf("time %q: too many colons", s)
		}
		for _, p := range parts {
			f, perr := strconv.ParseFloat(p, 64)
			if perr != nil || f < 0 {
				return 0, fmt.Errorf("time %q: bad field %q", s, p)
			}
			v = v*60 + f
		}
	case strings.HasSuffix(s, "ms"):
		v, err = strconv.ParseFloat(strings.TrimSuffix(s, "ms"), 64)
		v /= 1000
	case strings.HasSuffix(s, "us"):
		v, err = strconv.ParseFloat(strings.TrimSuffix(s, "us"), 64)
		v /= 1e6
	default:
		v, err = strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
	}
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("time %q: not a number", s)
	}
	if neg {
		v = -v
	}
	return v, nil
}

package media

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"sort"
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

// The option grammar. dswarm passes a user's option to ffmpeg only when it
// is on the list below: dswarm then knows how many values it takes (checked
// against ffmpeg's own table, ffmpeg_options.txt), which task it belongs to,
// and what its value may look like. Everything else is refused with its
// name and a reason: an option dswarm does not know could read or write a
// file, or swallow the next word as an output file.

// route is the task an option goes to.
type route int

const (
	toVideo  route = iota // every segment's encode
	toAudio               // the one audio task
	toMerge               // the merge: muxer options and metadata
	toByType              // by its stream type: :v video, :a audio, :s merge; none: video
	toAll                 // every task
)

// rule is how dswarm checks and routes one allowed option.
type rule struct {
	route route
	value func(string) error
}

var (
	wordValue     = regexp.MustCompile(`^[A-Za-z0-9_.+-]{1,64}$`)
	rateValue     = regexp.MustCompile(`^([A-Za-z0-9_.+-]{1,32}|[0-9]{1,9}(\.[0-9]{1,9})?/[0-9]{1,9}(\.[0-9]{1,9})?)$`)
	aspectValue   = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6})?([:/][0-9]{1,6}(\.[0-9]{1,6})?)?$`)
	layoutValue   = regexp.MustCompile(`^[A-Za-z0-9_.+|()-]{1,64}$`)
	fourccValue   = regexp.MustCompile(`^([A-Za-z0-9 ]{1,4}|0x[0-9A-Fa-f]{1,8})$`)
	timecodeValue = regexp.MustCompile(`^[0-9]{2}:[0-9]{2}:[0-9]{2}[:;.][0-9]{2}$`)
	forceKFValue  = regexp.MustCompile(`^(expr:[A-Za-z0-9_.,+*/()<>=!&| -]{1,256}|[0-9:.,]{1,1000}|source|source_no_drop)$`)
	metaKey       = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	dispoValue    = regexp.MustCompile(`^(0|[+-]?[a-z_]{1,32}([+-][a-z_]{1,32}){0,15})$`)
	typeSpec      = regexp.MustCompile(`^[vVas](:[0-9]{1,3})?$`)
	metaSpec      = regexp.MustCompile(`^(g|s(:[vVas])?(:[0-9]{1,3})?|[cp]:[0-9]{1,3})$`)
)

func matching(re *regexp.Regexp, what string) func(string) error {
	return func(v string) error {
		if !re.MatchString(v) {
			return fmt.Errorf("%q is not %s", v, what)
		}
		return nil
	}
}

var (
	word     = matching(wordValue, "a plain value (letters, digits and _ . + -)")
	rate     = matching(rateValue, "a rate (a number, N/D or a name)")
	aspect   = matching(aspectValue, "an aspect ratio (16:9 or 1.7777)")
	layout   = matching(layoutValue, "a channel layout")
	fourcc   = matching(fourccValue, "a fourcc tag")
	timecode = matching(timecodeValue, "a timecode hh:mm:ss[:;.]ff")
	forceKF  = matching(forceKFValue, "a list of times or an expr: expression")
	dispo    = matching(dispoValue, "a disposition (default, forced, ... joined by + or -)")
)

// metadata is key=value: any text, but no control characters.
func metadata(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || !metaKey.MatchString(k) {
		return fmt.Errorf("%q is not key=value", v)
	}
	for _, r := range val {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return fmt.Errorf("the value of %s has a control character", k)
		}
	}
	return nil
}

// mapMetadata: dswarm copies the source's metadata and chapters itself
// (what 0, the one input, means); -1 drops them. Other indexes would point
// at dswarm's own intermediate inputs.
func mapMetadata(v string) error {
	if v != "-1" && v != "0" {
		return fmt.Errorf("only 0 (the source's, which dswarm copies anyway) or -1 (none) is supported")
	}
	return nil
}

// format is -f: only containers that write one file, the one dswarm names.
func format(v string) error {
	if singleFileMuxers[v] {
		return nil
	}
	if multiFileMuxers[v] {
		return fmt.Errorf("the %s muxer writes more files than the one output; dswarm writes exactly one file", v)
	}
	return fmt.Errorf("%q is not a single-file container dswarm knows (%s)", v, strings.Join(sortedKeys(singleFileMuxers), ", "))
}

var (
	singleFileMuxers = set("mp4", "mov", "ipod", "3gp", "matroska", "webm", "mpegts", "nut", "avi",
		"flv", "ogg", "mxf", "asf", "mpeg")
	multiFileMuxers = set("image2", "hls", "dash", "segment", "ssegment", "stream_segment", "tee",
		"hds", "smoothstreaming", "webm_chunk", "webm_dash_manifest", "fifo", "fifo_test")
	// outputExtensions are the output names' endings whose container writes
	// one file (ffmpeg picks the muxer by the ending).
	outputExtensions = set(".mp4", ".m4v", ".mov", ".mkv", ".mka", ".webm", ".ts", ".m2ts", ".mts",
		".nut", ".avi", ".flv", ".ogv", ".ogg", ".mxf", ".3gp", ".asf", ".wmv", ".mpg", ".mpeg")
)

// CheckOutputName refuses an output whose ending would make ffmpeg write
// anything but one file (.m3u8, .mpd, image sequences) or pick a container
// dswarm does not know.
func CheckOutputName(name string) error {
	ext := strings.ToLower(filepath.Ext(name))
	if !outputExtensions[ext] {
		return fmt.Errorf("output %s: dswarm writes one video file; the ending %q is not one of %s",
			filepath.Base(name), ext, strings.Join(sortedKeys(outputExtensions), " "))
	}
	return nil
}

func params(option string) func(string) error {
	return func(v string) error { return checkEncoderParams(option, v) }
}

// allowed lists every option dswarm passes on, but for those ParseOptions
// handles itself (codecs, filters, -r, trims and value-less flags).
var allowed = map[string]rule{
	// Encoder options of every video encoder dswarm supports.
	"crf": {toVideo, word}, "qp": {toVideo, word}, "preset": {toVideo, word}, "tune": {toVideo, word},
	"level": {toVideo, word}, "pix_fmt": {toVideo, word}, "g": {toVideo, word}, "bf": {toVideo, word},
	"maxrate": {toVideo, word}, "minrate": {toVideo, word}, "bufsize": {toVideo, word},
	"s": {toVideo, word}, "aspect": {toVideo, aspect}, "threads": {toVideo, word},
	"keyint_min": {toVideo, word}, "sc_threshold": {toVideo, word}, "refs": {toVideo, word},
	"qmin": {toVideo, word}, "qmax": {toVideo, word}, "qdiff": {toVideo, word}, "qcomp": {toVideo, word},
	"qblur": {toVideo, word}, "global_quality": {toVideo, word}, "flags": {toVideo, word},
	"sws_flags": {toVideo, word}, "mbd": {toVideo, word}, "trellis": {toVideo, word},
	"subq": {toVideo, word}, "me_range": {toVideo, word}, "me_method": {toVideo, word},
	"rc-lookahead": {toVideo, word}, "b_strategy": {toVideo, word}, "coder": {toVideo, word},
	"slices": {toVideo, word}, "forced-idr": {toVideo, word}, "force_key_frames": {toVideo, forceKF},
	"weightp": {toVideo, word}, "weightb": {toVideo, word}, "aq-mode": {toVideo, word},
	"aq-strength": {toVideo, word}, "psy-rd": {toVideo, word}, "b-pyramid": {toVideo, word},
	"nal-hrd": {toVideo, word}, "a53cc": {toVideo, word}, "cpu-used": {toVideo, word},
	"deadline": {toVideo, word}, "row-mt": {toVideo, word}, "tile-columns": {toVideo, word},
	"tile-rows": {toVideo, word}, "lag-in-frames": {toVideo, word}, "auto-alt-ref": {toVideo, word},
	"quality": {toVideo, word}, "speed": {toVideo, word}, "enable-tpl": {toVideo, word},
	"arnr-maxframes": {toVideo, word}, "arnr-strength": {toVideo, word},
	"undershoot-pct": {toVideo, word}, "overshoot-pct": {toVideo, word},
	"frame-parallel": {toVideo, word}, "lossless": {toVideo, word}, "usage": {toVideo, word},
	"tiles": {toVideo, word}, "static-thresh": {toVideo, word}, "noise-sensitivity": {toVideo, word},
	"sharpness": {toVideo, word}, "la_depth": {toVideo, word}, "context": {toVideo, word},
	"slicecrc": {toVideo, word}, "mpeg_quant": {toVideo, word}, "video_format": {toVideo, word},
	"color_primaries": {toVideo, word}, "color_trc": {toVideo, word}, "colorspace": {toVideo, word},
	"color_range": {toVideo, word}, "field_order": {toVideo, word}, "top": {toVideo, word},
	"vtag":        {toVideo, fourcc},
	"x264-params": {toVideo, params("x264-params")}, "x264opts": {toVideo, params("x264opts")},
	"x265-params": {toVideo, params("x265-params")}, "svtav1-params": {toVideo, params("svtav1-params")},
	"aom-params": {toVideo, params("aom-params")},
	// By stream type.
	"b": {toByType, word}, "q": {toByType, word}, "qscale": {toByType, word},
	"profile": {toByType, word}, "tag": {toByType, fourcc},
	// Audio encoder options.
	"ar": {toAudio, word}, "ac": {toAudio, word}, "aq": {toAudio, word}, "ab": {toAudio, word},
	"sample_fmt": {toAudio, word}, "channel_layout": {toAudio, layout}, "ch_layout": {toAudio, layout},
	"cutoff": {toAudio, word}, "frame_size": {toAudio, word}, "vbr": {toAudio, word},
	"application": {toAudio, word}, "compression_level": {toAudio, word}, "atag": {toAudio, fourcc},
	"frame_duration": {toAudio, word}, "mapping_family": {toAudio, word},
	"packet_loss": {toAudio, word}, "fec": {toAudio, word}, "aac_coder": {toAudio, word},
	"joint_stereo": {toAudio, word}, "abr": {toAudio, word}, "reservoir": {toAudio, word},
	// Muxer options and metadata, for the merge.
	"f": {toMerge, format}, "movflags": {toMerge, word}, "brand": {toMerge, word},
	"write_tmcd": {toMerge, word}, "use_editlist": {toMerge, word},
	"frag_duration": {toMerge, word}, "frag_size": {toMerge, word},
	"min_frag_duration": {toMerge, word}, "movie_timescale": {toMerge, word},
	"video_track_timescale": {toMerge, word}, "cluster_size_limit": {toMerge, word},
	"cues_to_front": {toMerge, word}, "reserve_index_space": {toMerge, word},
	"write_crc32": {toMerge, word}, "live": {toMerge, word}, "dash": {toMerge, word},
	"mpegts_flags": {toMerge, word}, "mpegts_service_id": {toMerge, word},
	"fflags": {toMerge, word}, "avoid_negative_ts": {toMerge, word}, "muxdelay": {toMerge, word},
	"muxpreload": {toMerge, word}, "max_interleave_delta": {toMerge, word},
	"write_id3v2": {toMerge, word}, "id3v2_version": {toMerge, word}, "timecode": {toMerge, timecode},
	"metadata": {toMerge, metadata}, "disposition": {toMerge, dispo},
	"map_metadata": {toMerge, mapMetadata}, "map_chapters": {toMerge, mapMetadata},
	// Every task.
	"strict": {toAll, word},
}

// flags are the value-less options dswarm accepts.
var flags = set("y", "n", "an", "sn", "dn", "hide_banner", "stats", "nostats", "nostdin")

// refused explains options users reach for that dswarm cannot honour.
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
	"sdp_file":              "writes another file",
	"fpre":                  "reads a preset file",
	"vpre":                  "reads a preset file",
	"apre":                  "reads a preset file",
	"spre":                  "reads a preset file",
	"pre":                   "reads a preset file",
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
	"target":                "sets many options at once; give them one by one",
}

// refusedFilters are filters a segment cannot apply exactly: they depend on
// time or on neighbouring frames across a cut, or read and write other files.
// The allowlist refuses them anyway; these name the reason.
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
		"vidstabtransform", "signature", "psnr", "ssim", "libvmaf", "vmafmotion", "metadata",
		"ametadata", "cover_rect", "find_rect", "removelogo", "drawtext", "ocr", "overlay",
		"paletteuse", "curves", "selectivecolor"} {
		refusedFilters[f] = "reads or writes other files, or needs another input"
	}
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// notAllowed is the refusal of an option that is not on dswarm's list.
func notAllowed(tok, name string) error {
	if why, ok := refused[name]; ok {
		return &OptionError{Option: tok, Reason: "not supported by dswarm: " + why}
	}
	arity, known := FFmpegOptions().Arity(name)
	if !known {
		return &OptionError{Option: tok, Reason: "not an ffmpeg option"}
	}
	takes := "no value"
	if arity == 1 {
		takes = "a value"
	}
	return &OptionError{Option: tok, Reason: fmt.Sprintf("not supported by dswarm: ffmpeg's -%s (it takes %s) is not on dswarm's list of options known to be safe to pass on", name, takes)}
}

// ParseOptions sorts ffmpeg output options by task and refuses every option
// that is not on dswarm's list, or whose value is not of the form the list
// allows. Filter chains come back in dswarm's canonical spelling.
func ParseOptions(args []string) (Options, error) {
	var o Options
	videoCodecOption := "" // the option that set the video codec, for errors
	trimDur, trimTo := -1.0, -1.0
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if len(tok) < 2 || tok[0] != '-' {
			return o, &OptionError{Option: tok, Reason: "not an option; ffmpeg output options come as -name [value], and the output path goes in -o"}
		}
		name, spec, hasSpec := strings.Cut(tok[1:], ":")
		if flags[name] {
			if hasSpec {
				return o, &OptionError{Option: tok, Reason: "takes no stream type"}
			}
			switch name {
			case "an":
				o.NoAudio = true
			case "sn":
				o.NoSubtitles = true
			case "y":
				o.Overwrite = true
			}
			continue
		}
		r, isRule := allowed[name]
		if !isRule && !handled[name] {
			return o, notAllowed(tok, name)
		}
		kind, _, _ := strings.Cut(spec, ":")
		switch {
		case !hasSpec:
		case name == "metadata":
			if !metaSpec.MatchString(spec) {
				return o, &OptionError{Option: tok, Reason: "unknown stream specifier " + spec}
			}
		case !typeSpec.MatchString(spec):
			return o, &OptionError{Option: tok, Reason: "unknown stream specifier " + spec + " (give v, a or s, with an optional :N)"}
		}
		if i+1 >= len(args) {
			return o, &OptionError{Option: tok, Reason: "missing its value"}
		}
		val := args[i+1]
		i++
		if isRule {
			if err := r.value(val); err != nil {
				return o, &OptionError{Option: tok, Reason: err.Error()}
			}
			if (name == "map_metadata" || name == "map_chapters") && val == "0" {
				continue // the merge maps the source's already
			}
			o.route(r.route, kind, tok, val)
			continue
		}
		switch name {
		case "ss", "t", "to":
			if hasSpec {
				return o, &OptionError{Option: tok, Reason: "trims every stream alike; give it without a stream type"}
			}
			v, err := ParseTime(val)
			if err != nil || v < 0 || (name == "t" && v == 0) {
				return o, &OptionError{Option: tok, Reason: fmt.Sprintf("%q is not a time (seconds, or [HH:]MM:SS[.frac])", val)}
			}
			switch name {
			case "ss":
				o.Trim.Start = v
			case "t":
				trimDur = v
			case "to":
				trimTo = v
			}
			o.Trim.Set = true
		case "c", "codec", "vcodec", "acodec", "scodec":
			if err := word(val); err != nil {
				return o, &OptionError{Option: tok, Reason: err.Error()}
			}
			before := o.VideoCodec
			if err := o.setCodec(tok, name, kind, val); err != nil {
				return o, err
			}
			if o.VideoCodec != before {
				videoCodecOption = tok
			}
		case "vf", "af", "filter":
			media := map[string]string{"vf": "video", "af": "audio"}[name]
			if name == "filter" {
				media = map[string]string{"v": "video", "a": "audio"}[kind]
				if media == "" {
					return o, &OptionError{Option: tok, Reason: "give it a stream type: -filter:v or -filter:a"}
				}
			}
			chain, err := checkFilterChain(val, media)
			if err != nil {
				return o, &OptionError{Option: tok, Reason: err.Error()}
			}
			if media == "audio" {
				o.Audio = append(o.Audio, "-af", chain)
				break
			}
			if o.VideoFilter != "" {
				o.VideoFilter += ","
			}
			o.VideoFilter += chain
		case "r":
			if err := rate(val); err != nil {
				return o, &OptionError{Option: tok, Reason: err.Error()}
			}
			if kind == "" || kind == "v" {
				o.FrameRate = val
			}
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

// handled are the options ParseOptions reads itself.
var handled = set("ss", "t", "to", "c", "codec", "vcodec", "acodec", "scodec", "vf", "af", "filter", "r")

// route appends an allowed option to the task that applies it.
func (o *Options) route(r route, kind, tok, val string) {
	switch {
	case r == toAll:
		o.Video = append(o.Video, tok, val)
		o.Audio = append(o.Audio, tok, val)
		o.Global = append(o.Global, tok, val)
	case r == toMerge || r == toByType && kind == "s":
		o.Global = append(o.Global, tok, val)
	case r == toAudio || r == toByType && kind == "a":
		o.Audio = append(o.Audio, tok, val)
	default:
		o.Video = append(o.Video, tok, val)
	}
}

func (o *Options) setCodec(tok, base, kind, val string) error {
	switch {
	case base == "vcodec" || kind == "v" || kind == "V":
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

package media

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// A bitrate target (-b:v) cannot be met by encoding each segment at that
// rate: rate control restarts in every segment, starves the frames before
// each join and spends the same on a still scene as on an action one. dswarm
// runs a distributed two-pass instead: an analysis task per segment
// measures its complexity (the bits it takes at one constant quality), the
// file's bit budget is split over the segments by that measure, and each
// segment then encodes at its own share, with the encoder's own second pass
// where the encoder has one.

// BitrateTarget is a -b:v target over the whole file.
type BitrateTarget struct {
	Codec   string
	Bitrate float64 // bits per second, over the whole video
	MaxRate float64 // -maxrate, 0 without; no segment is asked for more
	// OwnPasses: the analysis task is the encoder's own first pass, at a
	// constant quality (its bitstream measures the complexity, its stats
	// file feeds the second pass). Otherwise a fast x264 probe at a
	// constant quality measures the complexity and each segment encodes in
	// one pass at its share.
	OwnPasses bool
}

// analysisQuality is the constant quality of the analysis pass, per encoder:
// the encoder's own default middle of the road.
var analysisQuality = map[string][]string{
	"libx264":    {"-crf", "23"},
	"libx265":    {"-crf", "28"},
	"mpeg4":      {"-q:v", "4"},
	"mpeg2video": {"-q:v", "4"},
	"mpeg1video": {"-q:v", "4"},
}

// ParseBitrate reads a bitrate as ffmpeg does: a number with an optional
// SI prefix (k, M, G; with "i" for powers of 1024) and an optional "B" for
// bytes.
func ParseBitrate(s string) (float64, error) {
	v := strings.TrimSpace(s)
	mult := 1.0
	if strings.HasSuffix(v, "B") {
		mult, v = 8, strings.TrimSuffix(v, "B")
	}
	binary := strings.HasSuffix(v, "i")
	v = strings.TrimSuffix(v, "i")
	if v != "" {
		base := 1000.0
		if binary {
			base = 1024
		}
		switch v[len(v)-1] {
		case 'k', 'K':
			mult, v = mult*base, v[:len(v)-1]
		case 'M':
			mult, v = mult*base*base, v[:len(v)-1]
		case 'G':
			mult, v = mult*base*base*base, v[:len(v)-1]
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a bitrate", s)
	}
	return f * mult, nil
}

// qualityOptions are options that make an encoder aim at a quality, not a
// bitrate: with one of them, -b:v is no target (a cap, or ignored).
var qualityOptions = set("crf", "qp", "q", "qscale", "global_quality", "cq-level", "lossless")

// PlanBitrate finds the user's bitrate target among the video options of a
// segment encode with codec: nil when there is none (a quality target,
// CRF or QP, or the encoder's default), or when -b:v is 0.
func PlanBitrate(video []string, codec string) (*BitrateTarget, error) {
	var t BitrateTarget
	for i := 0; i+1 < len(video); i += 2 {
		name, spec, _ := strings.Cut(strings.TrimPrefix(video[i], "-"), ":")
		if spec != "" && !strings.HasPrefix(spec, "v") {
			continue
		}
		switch {
		case name == "b":
			b, err := ParseBitrate(video[i+1])
			if err != nil {
				return nil, &OptionError{Option: video[i], Reason: err.Error()}
			}
			t.Bitrate = b
		case name == "maxrate":
			m, err := ParseBitrate(video[i+1])
			if err != nil {
				return nil, &OptionError{Option: video[i], Reason: err.Error()}
			}
			t.MaxRate = m
		case qualityOptions[name]:
			return nil, nil
		case strings.HasSuffix(name, "-params") || name == "x264opts":
			for _, kv := range strings.Split(video[i+1], ":") {
				k, _, _ := strings.Cut(kv, "=")
				if k == "crf" || k == "qp" {
					return nil, nil
				}
			}
		}
	}
	if t.Bitrate <= 0 {
		return nil, nil
	}
	t.Codec = codec
	_, t.OwnPasses = analysisQuality[codec]
	return &t, nil
}

// withoutRate is video without the options the analysis replaces (-b:v,
// -maxrate, -minrate, -bufsize): the analysis measures at a constant
// quality, unconstrained.
func withoutRate(video []string) []string {
	var out []string
	for i := 0; i+1 < len(video); i += 2 {
		name, _, _ := strings.Cut(strings.TrimPrefix(video[i], "-"), ":")
		switch name {
		case "b", "maxrate", "minrate", "bufsize":
			continue
		}
		out = append(out, video[i], video[i+1])
	}
	return out
}

// withParam appends key=value to the video options' -NAME parameter list,
// or adds the option.
func withParam(video []string, option, kv string) []string {
	out := append([]string(nil), video...)
	for i := 0; i+1 < len(out); i += 2 {
		if out[i] == "-"+option {
			out[i+1] += ":" + kv
			return out
		}
	}
	return append(out, "-"+option, kv)
}

// passArgs are the options that make codec run pass n with its stats at
// stats (a path prefix in the job's folder; dswarm names it, never the user).
func passArgs(codec string, video []string, n int, stats string) []string {
	if codec == "libx265" {
		return withParam(video, "x265-params", fmt.Sprintf("pass=%d:stats=%s.log", n, stats))
	}
	return append(append([]string(nil), video...), "-pass", strconv.Itoa(n), "-passlogfile", stats)
}

// AnalysisOptions are the video options of a segment's analysis task, and
// the codec it runs (x264 for the fast probe).
func (t *BitrateTarget) AnalysisOptions(video []string, stats string) (codec string, opts []string) {
	opts = withoutRate(video)
	if !t.OwnPasses {
		// Only the complexity is wanted: the user's encoder options are
		// not x264's, and the fastest preset keeps the probe cheap.
		return "libx264", []string{"-preset", "ultrafast", "-crf", "23"}
	}
	opts = append(opts, analysisQuality[t.Codec]...)
	return t.Codec, passArgs(t.Codec, opts, 1, stats)
}

// FinalOptions are the video options of a segment's encode at bitrate
// (bits per second): the user's options with their -b:v replaced, plus the
// second pass where the encoder has its own.
func (t *BitrateTarget) FinalOptions(video []string, stats string, bitrate float64) []string {
	var opts []string
	for i := 0; i+1 < len(video); i += 2 {
		name, _, _ := strings.Cut(strings.TrimPrefix(video[i], "-"), ":")
		if name == "b" {
			continue
		}
		opts = append(opts, video[i], video[i+1])
	}
	// libx264 and libx265 take whole kbit/s, and refuse 0 as "no bitrate":
	// a still segment's tiny share is asked as 1 kbit/s at least.
	kbps := max(1, int64(math.Round(bitrate/1000)))
	opts = append(opts, "-b:v", strconv.FormatInt(kbps, 10)+"k")
	if t.OwnPasses {
		opts = passArgs(t.Codec, opts, 2, stats)
	}
	return opts
}

// tooLowRate is libx264's refusal of a second-pass rate below what the
// first pass's stats allow at its coarsest quantiser.
var tooLowRate = regexp.MustCompile(`bitrate is too low\. estimated minimum is ([0-9]+) kbps`)

// MinimumBitrate reads, from a failed encode's error, the least bitrate
// (bits per second) the encoder said it can make, if it said so.
func MinimumBitrate(err error) (float64, bool) {
	if err == nil {
		return 0, false
	}
	m := tooLowRate.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	kbps, perr := strconv.ParseFloat(m[1], 64)
	return kbps * 1000, perr == nil
}

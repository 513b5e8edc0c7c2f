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

// analysisScale is how an encoder's constant-quality analysis is set: the
// option, where it starts (the encoder's middle of the road), its range,
// and how many steps halve the bits (CRF: about 6).
type analysisScale struct {
	option        string
	start, lo, hi float64
	stepsPerHalf  float64
	probe         bool // the scale of the x264 probe, not the encoder's
	// lavc: FFmpeg's own rate control. Its analysis is its first pass at
	// the target, as in a single-pass two-pass, and the split comes from
	// that pass's stats (LavcSpend), not from a constant quality: its
	// second pass gives each frame a quantiser from its complexity, and
	// the bits a constant quantiser takes are no guide to that split (they
	// starve a still scene that the whole-file pass codes at its finest).
	lavc bool
}

// x264's first pass halves its bits every 3 to 4 CRF steps between 23 and
// 35 (two 60 s 720p clips at veryfast: 3.8 and 2.7), not the 6 a QP step
// gives: at 6 the second round of the analysis overshot to CRF 40, where
// the bits no longer fall, and cost a third and fourth round.
var analysisScales = map[string]analysisScale{
	"libx264":    {option: "-crf", start: 23, lo: 0, hi: 51, stepsPerHalf: 4},
	"libx265":    {option: "-crf", start: 28, lo: 0, hi: 51, stepsPerHalf: 6},
	"mpeg4":      {lavc: true},
	"mpeg2video": {lavc: true},
	"mpeg1video": {lavc: true},
}

// probedOwnPasses are encoders whose own first pass writes stats but no
// bitstream to measure (libvpx): the x264 probe measures the split, and
// each segment's second pass reads a first pass of its own at its share
// (FreshPass). Not at -deadline realtime, where libvpx writes no stats.
var probedOwnPasses = map[string]bool{"libvpx-vp9": true}

// probeScale is the fast x264 probe's, for encoders without their own.
var probeScale = analysisScale{option: "-crf", start: 23, lo: 0, hi: 51, stepsPerHalf: 6, probe: true}

func (t *BitrateTarget) scale() analysisScale {
	if s, ok := analysisScales[t.Codec]; ok && t.OwnPasses {
		return s
	}
	return probeScale
}

// Probed reports whether the x264 probe measures the split: its analysis
// passes are not the encoder's own, and leave no stats for it.
func (t *BitrateTarget) Probed() bool { return t.scale().probe }

// ownPasses reports whether codec's own two-pass serves with the options
// in video.
func ownPasses(codec string, video []string) bool {
	if _, ok := analysisScales[codec]; !ok && !probedOwnPasses[codec] {
		return false
	}
	if codec == "libvpx-vp9" {
		for i := 0; i+1 < len(video); i += 2 {
			name, _, _ := strings.Cut(strings.TrimPrefix(video[i], "-"), ":")
			if (name == "deadline" || name == "quality") && video[i+1] == "realtime" {
				return false
			}
		}
	}
	return true
}

// LavcPlan reports whether the split is planned from the stats of the
// encoder's own first pass at the target (LavcSpend), in one round.
func (t *BitrateTarget) LavcPlan() bool { return t.scale().lavc }

// StartQuality is the constant quality of the first analysis round.
func (t *BitrateTarget) StartQuality() float64 { return t.scale().start }

// NextQuality is the quality of a second analysis round, when the first,
// at q, made bits where the budget is budget: one near the target, where
// the split by complexity is the split a whole-file two-pass makes (a
// segment's share of the bits depends on the quality it is measured at)
// and where the encoder's own second pass predicts its rate best. ok is
// false when q is close enough already, and for LavcPlan.
func (t *BitrateTarget) NextQuality(q, bits, budget float64) (next float64, ok bool) {
	s := t.scale()
	if bits <= 0 || budget <= 0 || s.lavc {
		return q, false
	}
	next = q + s.stepsPerHalf*math.Log2(bits/budget)
	next = math.Round(clampf(next, s.lo, s.hi)*10) / 10
	return next, math.Abs(next-q) >= 2
}

// LeastBits estimates, from the bits a segment took at analysis quality q,
// what the encoder makes at its coarsest quantiser, with a margin: asked
// for less, libx264 refuses ("bitrate too low"). 0 when the analysis was
// the x264 probe, which says nothing of the real encoder's floor, and for
// LavcPlan, whose floor LavcSpend gives.
func (t *BitrateTarget) LeastBits(q, bits float64) float64 {
	s := t.scale()
	if s.probe || s.lavc {
		return 0
	}
	return 1.5 * bits * math.Pow(2, -(s.hi-q)/s.stepsPerHalf)
}

func clampf(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

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
	t.OwnPasses = ownPasses(codec, video)
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

// AnalysisOptions are the video options of a segment's analysis task at
// constant quality q (at the target, for LavcPlan), and the codec it runs
// (x264 for the fast probe).
func (t *BitrateTarget) AnalysisOptions(video []string, stats string, q float64) (codec string, opts []string) {
	s := t.scale()
	value := strconv.FormatFloat(q, 'f', -1, 64)
	if s.probe {
		// Only the complexity is wanted: the user's encoder options are
		// not x264's, and the fastest preset keeps the probe cheap.
		return "libx264", []string{"-preset", "ultrafast", s.option, value}
	}
	if s.lavc {
		// The first pass of a single-pass two-pass: at the target, where
		// its quantisers are near the second pass's.
		return t.Codec, passArgs(t.Codec, video, 1, stats)
	}
	opts = append(withoutRate(video), s.option, value)
	return t.Codec, passArgs(t.Codec, opts, 1, stats)
}

// FinalOptions are the video options of a segment's encode at bitrate
// (bits per second): the user's options with their -b:v replaced, plus the
// second pass where the encoder has its own.
func (t *BitrateTarget) FinalOptions(video []string, stats string, bitrate float64) []string {
	opts := atRate(video, bitrate)
	if t.OwnPasses {
		opts = passArgs(t.Codec, opts, 2, stats)
	}
	return opts
}

// FirstPassOptions are the video options of a segment's own first pass,
// for when its share (bitrate) lies far from the bits its analysis pass
// made (see FreshPass). Where the analysis runs at a constant quality
// (x264, x265), so does this pass, at quality q, which the caller chose to
// make about bitrate (QualityScale): a first pass at a bitrate is one-pass
// ABR, whose first second on a hard 10 s segment swung from QP 26 to 49
// while its rate control settled. x264's second pass takes those frames'
// stats for their complexity, overspends on them, and cuts every later
// frame's quality by the overspend from the second second on: a 2.7 dB
// step (24.6 dB, then 21.9), and the segment 4.5 % under its share. From
// a first pass at CRF 33 (26 % over the share) the same second pass landed
// on its share with no step, and its 1%-low rose from 21.49 to 22.13 dB.
// libvpx's first pass is at bitrate, as a single-pass two-pass runs it.
func (t *BitrateTarget) FirstPassOptions(video []string, stats string, bitrate, q float64) []string {
	if s := t.scale(); !s.probe && !s.lavc {
		opts := append(withoutRate(video), s.option, strconv.FormatFloat(q, 'f', 1, 64))
		return passArgs(t.Codec, opts, 1, stats)
	}
	return passArgs(t.Codec, atRate(video, bitrate), 1, stats)
}

// QualityScale is the analysis's constant-quality scale: its bounds and
// how many steps halve the bits, as first guessed (4 CRF steps for x264,
// 6 for x265). ok is false where the
// analysis is not at a constant quality of the encoder's own.
func (t *BitrateTarget) QualityScale() (lo, hi, stepsPerHalf float64, ok bool) {
	s := t.scale()
	return s.lo, s.hi, s.stepsPerHalf, !s.probe && !s.lavc
}

// FreshPass says whether a segment's second pass at bitrate needs a first
// pass of its own, the analysis pass having made passBits per second (0:
// no first pass of its own yet, as for a probed encoder): an encoder's
// second pass reads its frame types and complexities from the first, and
// x264's misses the rate and starves hard frames when the two lie far
// apart (a 10 s segment asked 4.77 Mbit/s made 3.64 after a first pass of
// 1.64, with a scene cut at 19.9 dB; 4.66 after a pass of 4.37). FFmpeg's
// own encoders are analysed at the target already (LavcPlan).
func (t *BitrateTarget) FreshPass(bitrate, passBits float64) bool {
	if !t.OwnPasses || t.LavcPlan() {
		return false
	}
	if passBits <= 0 {
		return true
	}
	return math.Abs(math.Log(bitrate/passBits)) > math.Log(1+FreshPassAt)
}

// FreshPassAt is how far (a fraction) a segment's share may lie from its
// analysis pass's bits before it gets a first pass of its own.
const FreshPassAt = 0.15

// atRate is video with its -b:v set to bitrate (bits per second).
func atRate(video []string, bitrate float64) []string {
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
	return append(opts, "-b:v", strconv.FormatInt(kbps, 10)+"k")
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

// Joinable adds what an encoder needs for its segments to join into one
// stream: libx264 otherwise tunes its picture parameter set (the initial
// quantiser) to each segment's rate, and only the first segment's set
// reaches the joined file's header ("stitchable" keeps it fixed).
func Joinable(codec string, video []string) []string {
	if codec == "libx264" {
		return withParam(video, "x264-params", "stitchable=1")
	}
	return video
}

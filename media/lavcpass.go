package media

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
)

// FFmpeg's own encoders (mpeg4, mpeg2video, mpeg1video) share one rate
// control. Its second pass reads every frame of the first pass's stats and
// gives each frame the bits that make its quantiser follow its complexity
// to the power 1-qcomp, over the whole file at one rate factor. Cut into
// segments, each second pass sees only its own frames; given the share of
// bits that the whole-file pass would have spent on them, it finds that
// same rate factor and so the same quantisers. LavcSpend computes those
// shares from the segments' first-pass stats, the way the encoder would.

// PassFrame is one frame of a first pass's stats: its texture bits, the
// bits that do not depend on the quantiser (motion vectors, headers) and
// the quantiser it was coded at, in lambda units (118 per step).
type PassFrame struct {
	Intra bool
	Q     float64
	Tex   float64
	Other float64
}

// lambdaPerQP is FFmpeg's FF_QP2LAMBDA: a quantiser step in lambda units.
const lambdaPerQP = 118

// ReadPassLog reads the stats file an ffmpeg-native encoder's first pass
// wrote (-passlogfile PREFIX writes PREFIX-0.log for the first stream).
func ReadPassLog(prefix string) ([]PassFrame, error) {
	text, err := os.ReadFile(prefix + "-0.log")
	if err != nil {
		return nil, err
	}
	return ParsePassLog(string(text))
}

// ParsePassLog parses first-pass stats ("in:N out:N type:T q:Q itex:N
// ptex:N mv:N misc:N ...;" per frame), in display order.
func ParsePassLog(text string) ([]PassFrame, error) {
	type frame struct {
		in int
		f  PassFrame
	}
	var frames []frame
	for n, line := range strings.Split(text, ";") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		values := map[string]float64{}
		for _, field := range strings.Fields(line) {
			k, v, ok := strings.Cut(field, ":")
			if !ok {
				return nil, fmt.Errorf("pass log entry %d: %q is not key:value", n+1, field)
			}
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("pass log entry %d: %s: %w", n+1, k, err)
			}
			values[k] = f
		}
		for _, k := range []string{"in", "type", "q", "itex", "ptex", "mv", "misc"} {
			if _, ok := values[k]; !ok {
				return nil, fmt.Errorf("pass log entry %d has no %s", n+1, k)
			}
		}
		frames = append(frames, frame{in: int(values["in"]), f: PassFrame{
			Intra: values["type"] == 1,
			Q:     values["q"],
			Tex:   values["itex"] + values["ptex"],
			Other: values["mv"] + values["misc"],
		}})
	}
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].in < frames[j].in })
	out := make([]PassFrame, len(frames))
	for i, f := range frames {
		out[i] = f.f
	}
	return out, nil
}

// LavcCurve holds the second pass's settings that shape its curve: the
// user's -qcomp, -qmin, -qmax, -qdiff and -qblur, or FFmpeg's defaults.
type LavcCurve struct {
	QComp, QMin, QMax, QDiff, QBlur float64
	// IFactor is the I-frame quantiser against its P neighbour's
	// (-i_qfactor; FFmpeg's default gives I frames 0.8 of it).
	IFactor float64
}

// lavcCurve reads the curve's settings from the segment's video options.
func lavcCurve(video []string) LavcCurve {
	c := LavcCurve{QComp: 0.5, QMin: 2, QMax: 31, QDiff: 3, QBlur: 0.5, IFactor: 0.8}
	for i := 0; i+1 < len(video); i += 2 {
		name, _, _ := strings.Cut(strings.TrimPrefix(video[i], "-"), ":")
		v, err := strconv.ParseFloat(video[i+1], 64)
		if err != nil {
			continue
		}
		switch name {
		case "qcomp":
			c.QComp = v
		case "qmin":
			c.QMin = v
		case "qmax":
			c.QMax = v
		case "qdiff":
			c.QDiff = v
		case "qblur":
			c.QBlur = v
		}
	}
	return c
}

// spend is what the second pass predicts each frame takes at rate factor
// rf: a frame's texture bits follow its complexity to the power qcomp,
// an I frame's quantiser follows its next P frame's, neighbours differ by
// at most qdiff, the curve is blurred over frames of one kind, and every
// quantiser stays within qmin and qmax. Bits run inversely with the
// quantiser from the first pass's.
func (c LavcCurve) spend(frames []PassFrame, rf float64) []float64 {
	n := len(frames)
	q := make([]float64, n)
	for i, f := range frames {
		want := math.Max(rf*math.Pow(f.Tex*f.Q, c.QComp), 0) + 1
		q[i] = f.Q * (f.Tex + 1) / want
		if f.Intra {
			q[i] *= c.IFactor
		}
		q[i] = math.Max(q[i], 1)
	}
	// The encoder walks back from the last frame: an I frame followed by a
	// P frame takes that frame's quantiser; a frame follows the last one of
	// its kind within qdiff.
	var lastP, lastI float64
	seenP, seenI, nextIsP := false, false, false
	maxDiff := c.QDiff * lambdaPerQP
	for i := n - 1; i >= 0; i-- {
		if frames[i].Intra {
			switch {
			case nextIsP:
				q[i] = lastP * c.IFactor
			case seenI:
				q[i] = clampf(q[i], lastI-maxDiff, lastI+maxDiff)
			}
			lastI, seenI, nextIsP = q[i], true, false
			continue
		}
		if seenP {
			q[i] = clampf(q[i], lastP-maxDiff, lastP+maxDiff)
		}
		lastP, seenP, nextIsP = q[i], true, true
	}
	bits := make([]float64, n)
	width := int(c.QBlur*4) | 1
	for i, f := range frames {
		var sum, weight float64
		for j := 0; j < width; j++ {
			k := i + j - width/2
			if k < 0 || k >= n || frames[k].Intra != f.Intra {
				continue
			}
			d := float64(k - i)
			w := 1.0
			if c.QBlur > 0 {
				w = math.Exp(-d * d / (c.QBlur * c.QBlur))
			}
			sum += q[k] * w
			weight += w
		}
		lo, hi := c.QMin*lambdaPerQP, c.QMax*lambdaPerQP
		if f.Intra {
			lo, hi = math.Round(lo*c.IFactor), math.Round(hi*c.IFactor)
		}
		bits[i] = f.Tex*f.Q/clampf(sum/weight, lo, hi) + f.Other
	}
	return bits
}

// LavcSpend returns, for segments given by their first-pass frames, the
// bits FFmpeg's second pass over the whole file would spend on each to
// make budget bits in all, and the least bits each can be asked for (at
// the coarsest quantiser, with a margin: asked for less, the encoder's
// second pass does not converge).
func LavcSpend(video []string, segments [][]PassFrame, budget float64) (spend, least []float64) {
	c := lavcCurve(video)
	var all []PassFrame
	for _, s := range segments {
		all = append(all, s...)
	}
	total := func(bits []float64) float64 {
		s := 0.0
		for _, b := range bits {
			s += b
		}
		return s
	}
	// Bits rise with the rate factor; bisect it on a log scale.
	lo, hi := 1e-12, 1e12
	for k := 0; k < 200; k++ {
		mid := math.Sqrt(lo * hi)
		if total(c.spend(all, mid)) > budget {
			hi = mid
		} else {
			lo = mid
		}
	}
	bits := c.spend(all, lo)
	spend = make([]float64, len(segments))
	least = make([]float64, len(segments))
	at := 0
	for i, s := range segments {
		spend[i] = total(bits[at : at+len(s)])
		at += len(s)
		for _, f := range s {
			qmax := c.QMax * lambdaPerQP
			if f.Intra {
				qmax *= c.IFactor
			}
			least[i] += 1.25 * (f.Tex*f.Q/qmax + f.Other)
		}
	}
	return spend, least
}

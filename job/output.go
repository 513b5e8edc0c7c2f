package job

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// span is one segment in output terms: the trim bounds its task applies
// (in the trim's time base) and the frames it must yield.
type span struct {
	TrimStart, TrimEnd int64
	Frames             int
}

// outputPlan maps every segment to the output frames it yields. Without a
// frame-rate change a segment yields its own frames and trims on source
// timestamps. With -r R, every task runs ffmpeg's fps filter on absolute
// timestamps and keeps the output slots [round(start*R), round(end*R)): slot k
// only ever depends on the frames at and before k/R, so the segments' slots
// tile exactly the output a whole-file fps=R would give.
type outputPlan struct {
	TimeBase media.Rational // of the trim bounds
	Rate     media.Rational // zero without -r
	Spans    []span
}

func planOutput(segs []scheduler.Segment, tb media.Rational, rate media.Rational) outputPlan {
	p := outputPlan{TimeBase: tb, Rate: rate, Spans: make([]span, len(segs))}
	if rate.IsZero() {
		for i, s := range segs {
			p.Spans[i] = span{TrimStart: s.StartPTS, TrimEnd: s.EndPTS, Frames: s.Count}
		}
		return p
	}
	p.TimeBase = media.Rational{Num: rate.Den, Den: rate.Num}
	for i, s := range segs {
		start, end := slot(s.StartPTS, tb, rate), slot(s.EndPTS, tb, rate)
		p.Spans[i] = span{TrimStart: start, TrimEnd: end, Frames: int(end - start)}
	}
	return p
}

// slot converts a timestamp to an output frame index as the fps filter does:
// to the nearest, halves away from zero.
func slot(pts int64, tb, rate media.Rational) int64 {
	v := new(big.Rat).SetFrac(big.NewInt(pts), big.NewInt(1))
	v.Mul(v, new(big.Rat).SetFrac64(tb.Num*rate.Num, tb.Den*rate.Den))
	num, den := new(big.Int).Set(v.Num()), v.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	// floor((2*num + den) / (2*den)) rounds half up on the magnitude.
	q := new(big.Int).Quo(new(big.Int).Add(new(big.Int).Mul(num, big.NewInt(2)), den), new(big.Int).Mul(den, big.NewInt(2)))
	if neg {
		q.Neg(q)
	}
	return q.Int64()
}

// Frames is the number of frames the output must have.
func (p outputPlan) Frames() int {
	n := 0
	for _, s := range p.Spans {
		n += s.Frames
	}
	return n
}

// seconds converts trim ticks relative to the first span's start.
func (p outputPlan) seconds(ticks int64) float64 {
	return p.TimeBase.Seconds(ticks - p.Spans[0].TrimStart)
}

// parseRate reads an ffmpeg frame rate: "30000/1001", "29.97", "25" or one of
// ffmpeg's names.
func parseRate(s string) (media.Rational, error) {
	named := map[string]string{"ntsc": "30000/1001", "pal": "25/1", "film": "24/1", "ntsc-film": "24000/1001", "qntsc": "30000/1001", "qpal": "25/1"}
	if v, ok := named[s]; ok {
		s = v
	}
	if strings.Contains(s, "/") {
		r, err := media.ParseRational(s)
		if err != nil || r.Num <= 0 || r.Den <= 0 {
			return media.Rational{}, fmt.Errorf("option -r: %q is not a frame rate", s)
		}
		return r, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	den := int64(1)
	for range frac {
		den *= 10
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n <= 0 || len(frac) > 6 {
		return media.Rational{}, fmt.Errorf("option -r: %q is not a frame rate", s)
	}
	return media.Rational{Num: n, Den: den}, nil
}

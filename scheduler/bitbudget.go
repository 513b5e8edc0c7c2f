package scheduler

import (
	"math"
	"sort"
)

// BitBudget splits a file's bits over its segments for a bitrate target,
// and steers the split while segments finish.
//
// Each segment's share is proportional to its complexity: the bits it took
// at one constant quality in the analysis pass, which is what a whole-file
// two-pass spends in proportion to. Encoders miss what they are asked for,
// more on short pieces and always the same way on one content, so as
// segments finish the budget learns the ratio of bits produced to bits
// asked and asks the segments still to start for what keeps the total on
// target. A cap (-maxrate) bounds every segment's rate; what the cap cuts
// off goes to the segments below it.
type BitBudget struct {
	total   float64
	weights []float64 // complexity
	planned []float64 // bits, by complexity, after the cap
	seconds []float64
	asked   []float64 // bits asked of a started segment, 0 before
	got     []float64 // bits produced by a finished segment, -1 before
	floors  []float64 // bits no segment is asked to go below
	capRate float64
}

// minShare is the least part of the file's mean rate a segment is asked
// for: a still segment's proportional share can fall below what an encoder
// makes at its coarsest quantiser (x264 then refuses the rate as too low),
// and a few percent of the budget is a small price for no such failure.
const minShare = 0.05

// NewBitBudget plans totalBits over segments of the given complexities and
// durations (seconds); maxRate (bits per second, 0 for none) caps each.
func NewBitBudget(totalBits float64, complexity, seconds []float64, maxRate float64) *BitBudget {
	n := len(complexity)
	b := &BitBudget{total: totalBits, seconds: seconds, capRate: maxRate,
		asked: make([]float64, n), got: make([]float64, n)}
	for i := range b.got {
		b.got[i] = -1
	}
	var duration float64
	for _, sec := range seconds {
		duration += sec
	}
	b.floors = make([]float64, n)
	for i, sec := range seconds {
		b.floors[i] = math.Max(minShare*totalBits/math.Max(duration, 1e-3), 1000) * sec
	}
	b.weights = complexity
	b.planned = split(totalBits, complexity, b.floors, b.caps(seconds, maxRate))
	return b
}

// Least raises the floors to the bits each segment needs at least (what
// its encoder makes at its coarsest quantiser: below that, an encoder's
// second pass fails or gives up), and plans again. Call it before Ask.
func (b *BitBudget) Least(least []float64) {
	for i, l := range least {
		b.floors[i] = math.Max(b.floors[i], l)
	}
	b.planned = split(b.total, b.weights, b.floors, b.caps(b.seconds, b.capRate))
}

func (b *BitBudget) caps(seconds []float64, maxRate float64) []float64 {
	caps := make([]float64, len(seconds))
	for i, s := range seconds {
		caps[i] = math.Inf(1)
		if maxRate > 0 {
			caps[i] = maxRate * s
		}
	}
	return caps
}

// split shares total in proportion to weights, each share within its
// floor and cap: what a capped share cannot take goes to the others, what
// a floored one needs comes from them.
func split(total float64, weights, floors, caps []float64) []float64 {
	shares := make([]float64, len(weights))
	fixed := make([]bool, len(weights))
	left := total
	for {
		var w float64
		var n int
		for i, f := range fixed {
			if !f {
				w += math.Max(weights[i], 0)
				n++
			}
		}
		if n == 0 {
			return shares
		}
		for i, f := range fixed {
			if f {
				continue
			}
			shares[i] = left / float64(n)
			if w > 0 {
				shares[i] = left * math.Max(weights[i], 0) / w
			}
		}
		// Caps first, then floors, each fixed only when no cap is broken:
		// fixing both at once could leave bits unshared.
		changed := false
		for _, bound := range []func(i int) (float64, bool){
			func(i int) (float64, bool) { return caps[i], shares[i] > caps[i] },
			func(i int) (float64, bool) { return floors[i], shares[i] < floors[i] },
		} {
			for i, f := range fixed {
				if v, out := bound(i); !f && out {
					shares[i], fixed[i], changed = v, true, true
					left -= v
				}
			}
			if changed {
				break
			}
		}
		if !changed {
			return shares
		}
	}
}

// Planned is segment i's share of the budget in bits, before any steering.
func (b *BitBudget) Planned(i int) float64 { return b.planned[i] }

// Ask returns the bitrate (bits per second) to ask of segment i as it
// starts, and records it. The bits still free (the total less what
// finished segments produced and what running ones are expected to) are
// shared over the segments not yet started in proportion to their plan,
// and divided by the encoder's measured ratio of produced to asked.
func (b *BitBudget) Ask(i int) float64 {
	var producedAsked, producedSteered, produced, running, notStarted float64
	for j := range b.planned {
		switch {
		case b.got[j] >= 0:
			produced += b.got[j]
			// A segment held at its floor tells nothing of the encoder's
			// aim: it could not spend what it was given.
			if b.asked[j] > b.floors[j]*1.001 {
				producedAsked += b.asked[j]
				producedSteered += b.got[j]
			}
		case b.asked[j] > 0 && j != i:
			running += b.asked[j]
		default:
			notStarted += b.planned[j]
		}
	}
	ratio := 1.0
	if producedAsked > 0 {
		ratio = clamp(producedSteered/producedAsked, 0.75, 1.33)
	}
	free := b.total - produced - running*ratio
	factor := 1.0
	if notStarted > 0 {
		factor = clamp(free/notStarted, 0.5, 2)
	}
	bits := math.Max(b.planned[i]*factor/ratio, b.floors[i])
	if b.capRate > 0 {
		bits = math.Min(bits, b.capRate*b.seconds[i])
	}
	b.asked[i] = bits
	return bits / math.Max(b.seconds[i], 1e-3)
}

// Done records the bits segment i produced. A segment kept from an
// earlier run is Done without an Ask: it counts as produced what asked.
func (b *BitBudget) Done(i int, bits float64) {
	if b.asked[i] == 0 {
		b.asked[i] = bits
	}
	b.got[i] = bits
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// MaxCorrection is the most a correction changes one segment's bits. A
// segment asked again for much less than it made drops in quality against
// its neighbours (a scene cut inside it starves: 4.7 dB off the 1%-low
// frames at a -22% correction), so a large miss is spread over several.
const MaxCorrection = 0.15

// A Fix is a segment to encode again, and the rate (bits per second) to
// ask of it.
type Fix struct {
	Segment int
	Rate    float64
}

// Corrections is for when every segment is done and the total missed the
// budget by more than tol (a fraction of it): it picks the segments to
// encode again, and their rates, so that the file lands on the budget.
// Segments that missed their own ask the same way as the file are taken
// first, the largest miss first; each changes by at most MaxCorrection of
// what it made. The asks go through each segment's own measured ratio of
// made to asked, which on a second try of the same frames is close to
// exact. It returns nothing when nothing needs doing, or no segment was
// steered (all held at their floor).
func (b *BitBudget) Corrections(tol float64) []Fix {
	var produced float64
	var cands []int
	for j := range b.planned {
		if b.got[j] < 0 {
			return nil
		}
		produced += b.got[j]
		if b.asked[j] > b.floors[j]*1.001 && b.got[j] > 0 {
			cands = append(cands, j)
		}
	}
	miss := b.total - produced
	if math.Abs(miss) <= tol*b.total {
		return nil
	}
	// Over budget (miss < 0): those that made more than asked first.
	dir := math.Copysign(1, miss)
	sort.SliceStable(cands, func(x, y int) bool {
		i, j := cands[x], cands[y]
		return (b.asked[i]-b.got[i])*dir > (b.asked[j]-b.got[j])*dir
	})
	var fixes []Fix
	for _, j := range cands {
		if math.Abs(miss) <= tol*b.total/2 {
			break
		}
		want := b.got[j] + clamp(miss, -MaxCorrection*b.got[j], MaxCorrection*b.got[j])
		want = math.Max(want, b.floors[j])
		bits := clamp(want*b.asked[j]/b.got[j], b.asked[j]/2, b.asked[j]*2)
		if b.capRate > 0 {
			bits = math.Min(bits, b.capRate*b.seconds[j])
		}
		if math.Abs(want-b.got[j]) < 1e-3*b.got[j] {
			continue // at its floor or cap already
		}
		miss -= want - b.got[j]
		b.asked[j], b.got[j] = bits, -1
		fixes = append(fixes, Fix{Segment: j, Rate: bits / math.Max(b.seconds[j], 1e-3)})
	}
	return fixes
}

// AtCommonQuality estimates each segment's bits at the one quality where
// all of them together make budget, from two measurements: bits0 at
// quality position x0 and bits1 at x1 (positions on a scale where a
// segment's log bits run about straight: CRF itself, or the log of a
// linear quantiser). Each segment's own line through its two points is
// used, so that content whose bits fall faster with quality (grain) is not
// taken for content whose bits fall slowly (smooth motion). A whole-file
// two-pass shares bits this way: at one rate factor for all frames.
func AtCommonQuality(x0 float64, bits0 []float64, x1 float64, bits1 []float64, budget float64) []float64 {
	at := func(x float64) []float64 {
		out := make([]float64, len(bits0))
		for i := range bits0 {
			b0, b1 := math.Max(bits0[i], 1), math.Max(bits1[i], 1)
			slope := (math.Log(b1) - math.Log(b0)) / (x1 - x0)
			out[i] = math.Exp(math.Log(b1) + slope*(x-x1))
		}
		return out
	}
	sum := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s
	}
	// Bits fall as the position rises; bisect within a wide bracket
	// around the two measurements.
	span := math.Abs(x1-x0) + 1
	lo, hi := math.Min(x0, x1)-4*span, math.Max(x0, x1)+4*span
	for k := 0; k < 100; k++ {
		mid := (lo + hi) / 2
		if sum(at(mid)) > budget {
			lo = mid
		} else {
			hi = mid
		}
	}
	return at((lo + hi) / 2)
}

// QualityPoint is one constant-quality measurement of a segment: the bits
// it took at quality position Q.
type QualityPoint struct {
	Q, Bits float64
}

// QualityFor is the position on a segment's line of log bits against
// quality (as in AtCommonQuality) where it makes want bits, from its one
// or two measurements. Where there is one, or the two give no usable
// slope (equal positions, bits that do not fall as the position rises, or
// a slope more than four times or under a quarter of the usual one), the
// line falls by half every stepsPerHalf. The result lies in [lo, hi].
func QualityFor(points []QualityPoint, want, stepsPerHalf, lo, hi float64) float64 {
	if len(points) == 0 || want <= 0 {
		return lo
	}
	usual := -math.Ln2 / stepsPerHalf
	last := points[len(points)-1]
	slope := usual
	if len(points) > 1 {
		first := points[0]
		if first.Q != last.Q && first.Bits > 0 && last.Bits > 0 {
			s := (math.Log(last.Bits) - math.Log(first.Bits)) / (last.Q - first.Q)
			if s < 0 && s/usual <= 4 && s/usual >= 0.25 {
				slope = s
			}
		}
	}
	x := last.Q + (math.Log(want)-math.Log(math.Max(last.Bits, 1)))/slope
	return math.Max(lo, math.Min(hi, x))
}

// Bracket chooses, of measurements at several qualities, the two to draw a
// line through for want bits: when some made more than want and some
// less, the one of the first with the highest position and the one of the
// second with the lowest, the tightest bracket as bits fall with the
// position (they need not fall everywhere: x264 made more bits at CRF 40
// than at 38 on a hard zoom); else the last two. It returns their
// indexes, in the order measured; with one measurement, both are 0.
func Bracket(points []QualityPoint, want float64) (a, b int) {
	if len(points) < 2 {
		return 0, 0
	}
	above, below := -1, -1
	for i, p := range points {
		switch {
		case p.Bits >= want && (above < 0 || p.Q > points[above].Q):
			above = i
		case p.Bits < want && (below < 0 || p.Q < points[below].Q):
			below = i
		}
	}
	if above < 0 || below < 0 {
		return len(points) - 2, len(points) - 1
	}
	return min(above, below), max(above, below)
}

// CRFWeight is how far a bitrate target's split follows the bits each
// segment takes at one constant quality, against an even split by time:
// each segment's share goes as (its bits at the common quality)^CRFWeight
// x (its seconds)^(1-CRFWeight). Measured with x264 veryfast at 1500k on
// two 60 s 720p clips (bench/ratecontrol_test.go), mean and 1%-low PSNR:
//
//	weight  zoom          four scenes
//	1       27.84, 22.49  41.99, 25.90
//	0.8     28.00, 22.34  42.11, 25.77
//	0.7     28.06, 22.32  42.21, 25.64
//	0.6     28.12, 22.30  42.32, 25.43
//	ffmpeg two-pass  28.27, 21.80  34.97, 25.56
//
// The split of a whole-file CRF encode starves the easy parts for the
// hard ones more than the eye, or a whole-file two-pass, does; an even
// one starves the grain scene. 0.7 is within 0.3 dB of two-pass's mean
// and over its 1%-low on both.
const CRFWeight = 0.7

// TowardEven is complexity with each segment's CRFWeight blend of its
// bits and its seconds (see CRFWeight), for NewBitBudget.
func TowardEven(complexity, seconds []float64) []float64 {
	out := make([]float64, len(complexity))
	for i, c := range complexity {
		out[i] = math.Pow(math.Max(c, 0), CRFWeight) * math.Pow(math.Max(seconds[i], 0), 1-CRFWeight)
	}
	return out
}

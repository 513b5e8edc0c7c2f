package scheduler

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplit(t *testing.T) {
	inf := 1e300
	for _, tc := range []struct {
		name    string
		total   float64
		weights []float64
		caps    []float64
		want    []float64
	}{
		{"by weight", 100, []float64{1, 3}, []float64{inf, inf}, []float64{25, 75}},
		{"zero weights share equally", 90, []float64{0, 0, 0}, []float64{inf, inf, inf}, []float64{30, 30, 30}},
		{"a cap gives its excess to the others", 100, []float64{1, 3}, []float64{inf, 60}, []float64{40, 60}},
		{"caps in cascade", 100, []float64{1, 1, 8}, []float64{inf, 15, 50}, []float64{35, 15, 50}},
		{"everything capped", 100, []float64{1, 1}, []float64{10, 20}, []float64{10, 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := split(tc.total, tc.weights, make([]float64, len(tc.weights)), tc.caps)
			assert.InDeltaSlice(t, tc.want, got, 1e-9)
		})
	}
}

func TestSplitFloors(t *testing.T) {
	inf := 1e300
	got := split(100, []float64{1, 99}, []float64{10, 0}, []float64{inf, inf})
	assert.InDeltaSlice(t, []float64{10, 90}, got, 1e-9, "a floored share takes from the others")
	got = split(100, []float64{1, 1, 98}, []float64{10, 10, 0}, []float64{inf, inf, 60})
	assert.InDeltaSlice(t, []float64{20, 20, 60}, got, 1e-9, "capped: the floored ones take the rest by weight")
}

// A still segment next to busy ones is asked for at least 5 % of the mean
// rate, never the trickle a pure proportion gives.
func TestBitBudgetFloor(t *testing.T) {
	b := NewBitBudget(20e6, []float64{12e3, 100e6}, []float64{10, 10}, 0)
	assert.InDelta(t, 0.05e6, b.Planned(0)/10, 1, "5 %% of the mean 1 Mb/s")
	assert.InDelta(t, 19.5e6, b.Planned(1), 1)
	assert.GreaterOrEqual(t, b.Ask(0), 0.05e6)
}

func TestBitBudgetPlan(t *testing.T) {
	// 60 s at 1 Mb/s over three 20 s segments of complexity 1:2:3.
	b := NewBitBudget(60e6, []float64{1, 2, 3}, []float64{20, 20, 20}, 0)
	assert.InDelta(t, 10e6, b.Planned(0), 1)
	assert.InDelta(t, 20e6, b.Planned(1), 1)
	assert.InDelta(t, 30e6, b.Planned(2), 1)
	// Before anything finished, a segment is asked for its plan.
	assert.InDelta(t, 0.5e6, b.Ask(0), 1)
}

func TestBitBudgetMaxRate(t *testing.T) {
	// -maxrate 1.2M caps the complex segment; the others take the rest.
	b := NewBitBudget(60e6, []float64{1, 1, 10}, []float64{20, 20, 20}, 1.2e6)
	assert.InDelta(t, 24e6, b.Planned(2), 1)
	assert.InDelta(t, 18e6, b.Planned(0), 1)
	for i := 0; i < 3; i++ {
		assert.LessOrEqual(t, b.Ask(i), 1.2e6+1e-6)
	}
}

// An encoder that always makes 10 % fewer bits than asked: once segments
// finish, the rest are asked for more, and the total lands on target.
func TestBitBudgetSteersTheTotal(t *testing.T) {
	const n = 12
	complexity := make([]float64, n)
	seconds := make([]float64, n)
	for i := range complexity {
		complexity[i] = float64(1 + i%4)
		seconds[i] = 5
	}
	const total = 60e6
	for _, bias := range []float64{0.9, 1.1} {
		b := NewBitBudget(total, complexity, seconds, 0)
		produced := 0.0
		// Two at a time, as on two workers.
		for i := 0; i < n; i += 2 {
			r0, r1 := b.Ask(i), b.Ask(i+1)
			b.Done(i, r0*seconds[i]*bias)
			b.Done(i+1, r1*seconds[i+1]*bias)
			produced += (r0*seconds[i] + r1*seconds[i+1]) * bias
		}
		assert.InDelta(t, 1, produced/total, 0.02, "bias %.1f: total %.3f of target", bias, produced/total)
	}
}

// Segments kept from an earlier run count as produced; the others share
// what is left.
func TestBitBudgetKeptSegments(t *testing.T) {
	b := NewBitBudget(30e6, []float64{1, 1, 1}, []float64{10, 10, 10}, 0)
	b.Done(0, 14e6) // kept: took more than its plan of 10e6
	rate := b.Ask(1)
	assert.InDelta(t, 0.8e6, rate, 1e3, "16e6 left over two segments")
}

// The last segment to finish overshot: the total is 8 % over. The one that
// missed most is asked again, through its own ratio, for 15 % less than it
// made (no more, or its quality would step down against its neighbours),
// and the rest of the miss goes to the next segment.
func TestBitBudgetCorrections(t *testing.T) {
	b := NewBitBudget(40e6, []float64{1, 1, 1, 1}, []float64{10, 10, 10, 10}, 0)
	for i := 0; i < 4; i++ {
		b.Ask(i)
	}
	b.Done(0, 10e6)
	b.Done(1, 10e6)
	b.Done(2, 9.8e6)
	b.Done(3, 13.4e6) // asked 10e6: 1.34x
	fixes := b.Corrections(0.015)
	require.Len(t, fixes, 2)
	assert.Equal(t, 3, fixes[0].Segment)
	// 15 % less than it made, asked through its ratio of 1.34.
	assert.InDelta(t, 13.4e6*0.85/1.34/10, fixes[0].Rate, 1)
	// The rest of the 3.2e6 over: 3.2e6 - 2.01e6 from an on-target segment.
	assert.Equal(t, 0, fixes[1].Segment)
	assert.InDelta(t, (10e6-(3.2e6-13.4e6*0.15))/10, fixes[1].Rate, 1)
	assert.Empty(t, b.Corrections(0.015), "not before the segments are done again")
	b.Done(3, 13.4e6*0.85)
	b.Done(0, 10e6-(3.2e6-13.4e6*0.15))
	assert.Empty(t, b.Corrections(0.015), "on target")
}

// A miss no segment can take alone is spread, and no segment changes by
// more than MaxCorrection.
func TestBitBudgetCorrectionsBounded(t *testing.T) {
	b := NewBitBudget(60e6, []float64{1, 1, 1, 1, 1, 1}, []float64{10, 10, 10, 10, 10, 10}, 0)
	made := []float64{8e6, 9e6, 10e6, 9.5e6, 8.5e6, 9e6} // 54e6: 10 % under
	for i := range made {
		b.Ask(i)
	}
	for i, m := range made {
		b.Done(i, m)
	}
	fixes := b.Corrections(0.015)
	require.NotEmpty(t, fixes)
	var added float64
	for _, f := range fixes {
		want := f.Rate * 10 * made[f.Segment] / 10e6 // through its ratio of made to asked
		change := want/made[f.Segment] - 1
		assert.LessOrEqual(t, change, MaxCorrection+1e-9, "segment %d", f.Segment)
		assert.Positive(t, change)
		added += want - made[f.Segment]
	}
	assert.InDelta(t, 6e6, added, 0.015*60e6/2, "lands within half the tolerance")
	assert.Equal(t, 0, fixes[0].Segment, "the largest miss first")
}

// Two segments: one halves its bits every 6 steps, the other (grain) every
// 3. At the common quality that meets the budget, each gets what its own
// line says, not what one proportion at either measurement says.
func TestAtCommonQuality(t *testing.T) {
	bits := func(b23, stepsPerHalf, x float64) float64 { return b23 * math.Pow(2, -(x-23)/stepsPerHalf) }
	b0 := []float64{bits(8e6, 6, 23), bits(8e6, 3, 23)}
	b1 := []float64{bits(8e6, 6, 35), bits(8e6, 3, 35)}
	// The budget both meet at x = 29.
	budget := bits(8e6, 6, 29) + bits(8e6, 3, 29)
	got := AtCommonQuality(23, b0, 35, b1, budget)
	assert.InDelta(t, bits(8e6, 6, 29), got[0], 1e3)
	assert.InDelta(t, bits(8e6, 3, 29), got[1], 1e3)
	assert.InDelta(t, 2, got[0]/got[1], 1e-3)
}

// A segment that needs more than its share at the encoder's coarsest
// quantiser gets that, from the others.
func TestBitBudgetLeast(t *testing.T) {
	b := NewBitBudget(20e6, []float64{1, 99}, []float64{10, 10}, 0)
	b.Least([]float64{4e6, 0})
	assert.InDelta(t, 4e6, b.Planned(0), 1)
	assert.InDelta(t, 16e6, b.Planned(1), 1)
}

// TestQualityFor: the position where a segment's line of log bits meets
// the bits wanted, from two points, or from one with the usual slope.
func TestQualityFor(t *testing.T) {
	// 8000 bits at CRF 23 and 2000 at 35: a half every 6 steps.
	two := []QualityPoint{{23, 8000}, {35, 2000}}
	assert.InDelta(t, 29, QualityFor(two, 4000, 6, 0, 51), 1e-9, "between the points")
	assert.InDelta(t, 41, QualityFor(two, 1000, 6, 0, 51), 1e-9, "past the last one")
	// Bits falling a half every 4 steps (grain): its own slope.
	steep := []QualityPoint{{23, 8000}, {31, 2000}}
	assert.InDelta(t, 27, QualityFor(steep, 4000, 6, 0, 51), 1e-9)
	// One point, or points whose slope is no use: the usual slope.
	assert.InDelta(t, 41, QualityFor(two[1:], 1000, 6, 0, 51), 1e-9)
	rising := []QualityPoint{{23, 1000}, {35, 2000}}
	assert.InDelta(t, 41, QualityFor(rising, 1000, 6, 0, 51), 1e-9)
	assert.Equal(t, 51.0, QualityFor(two, 1, 6, 0, 51), "within the scale")
	assert.Equal(t, 0.0, QualityFor(two, 1e12, 6, 0, 51))
}

// TestBracket: the tightest pair around the bits wanted, even where bits
// do not fall with the position everywhere; else the last two.
func TestBracket(t *testing.T) {
	// x264 on a hard zoom: more bits at CRF 40.3 than at 36.3.
	zoom := []QualityPoint{{23, 661e6}, {40.3, 49.2e6}, {36.3, 47.7e6}, {33.1, 106e6}}
	a, b := Bracket(zoom[:3], 90e6)
	assert.Equal(t, [2]int{0, 2}, [2]int{a, b}, "23 above, 36.3 the lowest below")
	a, b = Bracket(zoom, 90e6)
	assert.Equal(t, [2]int{2, 3}, [2]int{a, b}, "33.1 above, 36.3 below")
	a, b = Bracket([]QualityPoint{{23, 10}, {30, 5}, {35, 3}}, 1)
	assert.Equal(t, [2]int{1, 2}, [2]int{a, b}, "all above: the last two")
	a, b = Bracket(zoom[:1], 90e6)
	assert.Equal(t, [2]int{0, 0}, [2]int{a, b})
}

// TestTowardEven: shares between the bits at one quality and the seconds.
func TestTowardEven(t *testing.T) {
	got := TowardEven([]float64{1000, 8000, 0}, []float64{10, 10, 10})
	assert.InDelta(t, 0, got[2], 1e-9)
	assert.InDelta(t, math.Pow(8, CRFWeight), got[1]/got[0], 1e-9, "a segment of 8x the bits gets 8^w x the share")
}

package job

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

func TestSlot(t *testing.T) {
	tb := media.Rational{Num: 1, Den: 12800}
	for _, tc := range []struct {
		pts  int64
		rate media.Rational
		want int64
	}{
		{0, media.Rational{Num: 15, Den: 1}, 0},
		{25600, media.Rational{Num: 15, Den: 1}, 30},       // 2 s
		{426, media.Rational{Num: 15, Den: 1}, 0},          // 0.0333 s = 0.499 slot
		{427, media.Rational{Num: 15, Den: 1}, 1},          // 0.0334 s = 0.5004 slot
		{-427, media.Rational{Num: 15, Den: 1}, -1},        // halves away from zero
		{12800, media.Rational{Num: 30000, Den: 1001}, 30}, // 29.97
	} {
		assert.Equal(t, tc.want, slot(tc.pts, tb, tc.rate), "pts %d at %v", tc.pts, tc.rate)
	}
}

func TestPlanOutput(t *testing.T) {
	tb := media.Rational{Num: 1, Den: 1000}
	segs := []scheduler.Segment{
		{StartPTS: 0, EndPTS: 1000, Count: 25},
		{StartPTS: 1000, EndPTS: 2040, Count: 26, Last: true},
	}
	t.Run("no rate change keeps source frames", func(t *testing.T) {
		p := planOutput(segs, tb, media.Rational{})
		require.Len(t, p.Spans, 2)
		assert.Equal(t, span{TrimStart: 1000, TrimEnd: 2040, Frames: 26}, p.Spans[1])
		assert.Equal(t, 51, p.Frames())
		assert.Equal(t, tb, p.TimeBase)
	})
	t.Run("rate change counts output slots", func(t *testing.T) {
		p := planOutput(segs, tb, media.Rational{Num: 10, Den: 1})
		assert.Equal(t, media.Rational{Num: 1, Den: 10}, p.TimeBase)
		assert.Equal(t, []span{{0, 10, 10}, {10, 20, 10}}, p.Spans)
		assert.InDelta(t, 1.0, p.seconds(p.Spans[1].TrimStart), 1e-9)
	})
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]media.Rational{
		"25": {Num: 25, Den: 1}, "29.97": {Num: 2997, Den: 100}, "30000/1001": {Num: 30000, Den: 1001},
		"ntsc": {Num: 30000, Den: 1001}, "pal": {Num: 25, Den: 1},
	} {
		got, err := parseRate(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "0", "-5", "x", "1/0", "30/-1", "1.1234567"} {
		_, err := parseRate(bad)
		assert.Error(t, err, bad)
	}
}

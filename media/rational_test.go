package media

import (
	"math/big"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRational(t *testing.T) {
	tests := []struct {
		in      string
		want    Rational
		zero    bool
		wantErr bool
	}{
		{in: "1/12800", want: Rational{1, 12800}},
		{in: "30000/1001", want: Rational{30000, 1001}},
		{in: " 1/90000\n", want: Rational{1, 90000}},
		{in: "25", want: Rational{25, 1}},
		{in: "-1/2", want: Rational{-1, 2}},
		{in: "0/0", want: Rational{}, zero: true},
		{in: "5/0", want: Rational{}, zero: true},
		{in: "0/1", want: Rational{0, 1}, zero: true},
		{in: "", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "1/x", wantErr: true},
		{in: "1.5/2", wantErr: true},
		{in: "1/2/3", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRational(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "rational ")
				assert.Equal(t, Rational{}, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.zero, got.IsZero())
		})
	}
}

func TestRationalConversions(t *testing.T) {
	ntsc := Rational{30000, 1001}
	assert.Equal(t, "30000/1001", ntsc.String())
	assert.InDelta(t, 29.97002997, ntsc.Float(), 1e-8)
	assert.Equal(t, 0.0, Rational{}.Float())
	assert.InDelta(t, 1.5, Rational{1, 12800}.Seconds(19200), 1e-12)
	assert.InDelta(t, -0.08, Rational{1, 12800}.Seconds(-1024), 1e-12)
}

func TestSecondsArg(t *testing.T) {
	tests := []struct {
		name  string
		tb    Rational
		ticks int64
		want  string
	}{
		{"zero", Rational{1, 12800}, 0, "0.000000"},
		{"exact", Rational{1, 12800}, 25600, "2.000000"},
		{"exact fraction", Rational{1, 12800}, 512, "0.040000"},
		{"rounds up", Rational{1, 90000}, 3003, "0.033367"},
		{"rounds up a third", Rational{1, 3}, 1, "0.333334"},
		{"rounds up below a microsecond", Rational{1, 90000000}, 1, "0.000001"},
		{"non-unit numerator", Rational{1001, 30000}, 1, "0.033367"},
		{"hours", Rational{1, 90000}, 90000 * 3600 * 10, "36000.000000"},
		{"negative exact", Rational{1, 12800}, -1024, "-0.080000"},
		{"negative rounds up toward zero", Rational{1, 3}, -1, "-0.333333"},
		{"negative above a microsecond", Rational{1, 10000000}, -1, "0.000000"},
		{"negative over a second", Rational{1, 90000}, -93003, "-1.033366"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.tb.SecondsArg(tt.ticks))
		})
	}
}

// TestSecondsArgNeverEarly checks on random timestamps that the argument is
// never before the exact time and less than a microsecond after it, so a seek
// to it never lands before the intended frame.
func TestSecondsArgNeverEarly(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	bases := []Rational{{1, 90000}, {1, 12800}, {1, 1000}, {1001, 30000}, {1, 44100}, {1, 1200000}, {1, 3}}
	micro := big.NewRat(1, 1000000)
	for i := 0; i < 500; i++ {
		tb := bases[r.Intn(len(bases))]
		ticks := r.Int63n(1<<32) - 1<<31
		arg := tb.SecondsArg(ticks)
		got, ok := new(big.Rat).SetString(arg)
		require.True(t, ok, "%q", arg)
		exact := big.NewRat(ticks*tb.Num, tb.Den)
		require.GreaterOrEqual(t, got.Cmp(exact), 0, "%d ticks of %s: %s is before the exact time", ticks, tb, arg)
		require.Negative(t, got.Cmp(new(big.Rat).Add(exact, micro)), "%d ticks of %s: %s is a microsecond late", ticks, tb, arg)
	}
}

func TestMicros(t *testing.T) {
	tests := []struct {
		name  string
		tb    Rational
		ticks int64
		want  int64
	}{
		{"zero", Rational{1, 12800}, 0, 0},
		{"exact", Rational{1, 12800}, 512, 40000},
		{"rounds down", Rational{1, 3}, 1, 333333},
		{"rounds up", Rational{1, 3}, 2, 666667},
		{"half rounds away from zero", Rational{1, 2000000}, 1, 1},
		{"NTSC frame", Rational{1, 90000}, 3003, 33367},
		{"non-unit numerator", Rational{1001, 30000}, 30, 1001000},
		{"negative rounds to nearest", Rational{1, 3}, -2, -666667},
		{"negative rounds down in magnitude", Rational{1, 3}, -1, -333333},
		{"negative half rounds away from zero", Rational{1, 2000000}, -1, -1},
		{"ten hours", Rational{1, 90000}, 90000 * 36000, 36000000000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.tb.Micros(tt.ticks))
		})
	}
}

func TestFormatMicros(t *testing.T) {
	tests := []struct {
		us   int64
		want string
	}{
		{0, "0.000000"},
		{1, "0.000001"},
		{123, "0.000123"},
		{1040000, "1.040000"},
		{36000000000, "36000.000000"},
		{-1, "-0.000001"},
		{-1500000, "-1.500000"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, FormatMicros(tt.us))
		})
	}
}

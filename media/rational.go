package media

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Rational is an exact fraction such as a time base (1/90000) or a frame
// rate (30000/1001).
type Rational struct {
	Num, Den int64
}

// ParseRational reads "num/den" as printed by ffprobe. "0/0" yields the zero
// value, which IsZero reports.
func ParseRational(s string) (Rational, error) {
	num, den, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		den = "1"
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return Rational{}, fmt.Errorf("rational %q: %w", s, err)
	}
	d, err := strconv.ParseInt(den, 10, 64)
	if err != nil {
		return Rational{}, fmt.Errorf("rational %q: %w", s, err)
	}
	if d == 0 {
		return Rational{}, nil
	}
	return Rational{Num: n, Den: d}, nil
}

// IsZero reports whether r is unset (0/0 or 0/x).
func (r Rational) IsZero() bool { return r.Num == 0 || r.Den == 0 }

// String prints r as ffmpeg expects it, "num/den".
func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// Float is r as a float64, for display and tolerances only.
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

// Seconds converts ticks of time base r to seconds (float, for display and
// tolerances).
func (r Rational) Seconds(ticks int64) float64 {
	return float64(ticks) * r.Float()
}

// SecondsArg formats ticks of time base r as decimal seconds for an ffmpeg
// time argument, rounded up to the microsecond so that a seek to it never
// lands before the intended timestamp because of rounding.
func (r Rational) SecondsArg(ticks int64) string {
	v := new(big.Rat).SetFrac64(ticks*r.Num, r.Den)
	micro := new(big.Rat).Mul(v, big.NewRat(1000000, 1))
	q := new(big.Int).Quo(micro.Num(), micro.Denom()) // truncates toward zero
	if new(big.Rat).SetInt(q).Cmp(micro) < 0 {
		q.Add(q, big.NewInt(1))
	}
	neg := q.Sign() < 0
	q.Abs(q)
	s := fmt.Sprintf("%d.%06d", new(big.Int).Quo(q, big.NewInt(1000000)), new(big.Int).Rem(q, big.NewInt(1000000)).Int64())
	if neg {
		s = "-" + s
	}
	return s
}

// Micros converts ticks of time base r to whole microseconds, rounded to
// the nearest.
func (r Rational) Micros(ticks int64) int64 {
	v := new(big.Rat).SetFrac64(ticks*r.Num, r.Den)
	v.Mul(v, big.NewRat(1000000, 1))
	f, _ := v.Float64()
	if f < 0 {
		return -int64(-f + 0.5)
	}
	return int64(f + 0.5)
}

// FormatMicros prints microseconds as decimal seconds ("1.040000").
func FormatMicros(us int64) string {
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	return fmt.Sprintf("%s%d.%06d", sign, us/1000000, us%1000000)
}

package media

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// Chapter is one chapter of a file, in its own time base.
type Chapter struct {
	TimeBase   Rational
	Start, End int64
	Tags       map[string]string
}

// ClipChapters does to chapters what ffmpeg does when it copies them into
// an output trimmed with -ss/-t: shifted by offset (microseconds from the
// timestamps' zero to the window's start: -ss plus the input's start
// time), cut at duration (microseconds, <0 for none), and chapters wholly
// outside the window left out. The merge, which trims its inputs instead,
// needs them done for it.
func ClipChapters(chs []Chapter, offset, duration int64) []Chapter {
	var out []Chapter
	for _, c := range chs {
		off := rescaleMicros(offset, c.TimeBase)
		rt := int64(-1)
		if duration >= 0 {
			rt = rescaleMicros(duration, c.TimeBase)
		}
		if c.End < off {
			continue
		}
		if rt >= 0 && c.Start > rt+off {
			break
		}
		n := c
		n.Start = max(0, c.Start-off)
		n.End = c.End - off
		if rt >= 0 {
			n.End = min(rt, n.End)
		}
		out = append(out, n)
	}
	return out
}

// rescaleMicros converts microseconds into ticks of tb, rounding to the
// nearest as ffmpeg's av_rescale_q does.
func rescaleMicros(us int64, tb Rational) int64 {
	num := new(big.Int).Mul(big.NewInt(us), big.NewInt(tb.Den))
	den := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(tb.Num))
	half := new(big.Int).Quo(den, big.NewInt(2))
	if num.Sign() < 0 {
		num.Sub(num, half)
	} else {
		num.Add(num, half)
	}
	return num.Quo(num, den).Int64()
}

// FFMetadata renders chapters as an ffmetadata file, which ffmpeg reads
// with -f ffmetadata.
func FFMetadata(chs []Chapter) string {
	var b strings.Builder
	b.WriteString(";FFMETADATA1\n")
	for _, c := range chs {
		fmt.Fprintf(&b, "\n[CHAPTER]\nTIMEBASE=%d/%d\nSTART=%d\nEND=%d\n", c.TimeBase.Num, c.TimeBase.Den, c.Start, c.End)
		keys := make([]string, 0, len(c.Tags))
		for k := range c.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s\n", ffmetaEscape(k), ffmetaEscape(c.Tags[k]))
		}
	}
	return b.String()
}

// ffmetaEscape escapes what the ffmetadata format treats as syntax.
func ffmetaEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("=;#\\\n", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

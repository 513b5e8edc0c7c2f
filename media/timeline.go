package media

// Break is a place where a stream's decode timestamps stop following on:
// a splice, a capture that skipped, a clock that restarted.
type Break struct {
	// Packet is the index, among the stream's packets in decode order, of
	// the first packet after the break.
	Packet int
	// DTS is that packet's decode timestamp, Expected the one that would
	// have continued the stream (the previous dts plus its duration).
	DTS, Expected int64
}

// Timestamp breaks are judged as ffmpeg judges them when it reads a format
// that may have discontinuities (MPEG-TS, MPEG-PS) without -copyts: a
// decode timestamp more than 0.1 s behind the last one, or more than 10 s
// (its -dts_delta_threshold) away from the expected one.
const (
	breakBack    = 0.1
	breakForward = 10.0
)

// TimestampBreaks finds the breaks in the decode timestamps of one stream.
// pkts are in decode (file) order; packets of other streams, discarded
// packets and packets without a dts are skipped.
func TimestampBreaks(pkts []Packet, stream int, tb Rational) []Break {
	var out []Break
	n := -1
	last, expected := NoPTS, NoPTS
	for _, p := range pkts {
		if p.Stream != stream || p.Discard {
			continue
		}
		n++
		if p.DTS == NoPTS {
			continue
		}
		if last != NoPTS {
			back := tb.Seconds(last - p.DTS)
			delta := tb.Seconds(p.DTS - expected)
			if back > breakBack || delta > breakForward || delta < -breakForward {
				out = append(out, Break{Packet: n, DTS: p.DTS, Expected: expected})
			}
		}
		d := p.Duration
		if d < 0 {
			d = 0
		}
		last, expected = p.DTS, p.DTS+d
	}
	return out
}

// RepairsTimestamps reports whether ffmpeg repairs timestamp breaks of the
// format (ffprobe's format_name) when it reads it without -copyts.
func RepairsTimestamps(formatName string) bool {
	switch formatName {
	case "mpegts", "mpeg":
		return true
	}
	return false
}

package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// NoPTS marks a packet without a timestamp.
const NoPTS = int64(-1 << 63)

// Packet is one demuxed packet, read without decoding.
type Packet struct {
	Stream   int
	PTS      int64 // NoPTS when the container has none
	DTS      int64 // decode timestamp; NoPTS when unknown
	Duration int64
	Size     int64
	Key      bool
	Discard  bool // to be dropped by the decoder (e.g. encoder priming)
}

// ReadPackets demuxes path (no decoding) and returns the packets of the
// streams selected by ffprobe's -select_streams specifier sel ("" for all).
func ReadPackets(ctx context.Context, path, sel string) ([]Packet, error) {
	args := []string{"-v", "error"}
	if sel != "" {
		args = append(args, "-select_streams", sel)
	}
	args = append(args, "-show_entries", "packet=stream_index,pts,dts,duration,size,flags", "-of", "compact=p=0", "--", path)
	out, err := runTool(ctx, "ffprobe", args...)
	if err != nil {
		return nil, err
	}
	pkts, err := ParsePackets(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("ffprobe packets of %s: %w", path, err)
	}
	return pkts, nil
}

// ParsePackets parses `ffprobe -show_entries packet=... -of compact=p=0`
// output: one "key=value|key=value" line per packet. Lines without packet
// fields (side data) are skipped.
func ParsePackets(r io.Reader) ([]Packet, error) {
	var pkts []Packet
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		p := Packet{PTS: NoPTS, DTS: NoPTS}
		seen := false
		for _, field := range strings.Split(text, "|") {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				continue
			}
			var err error
			switch k {
			case "stream_index":
				p.Stream, err = strconv.Atoi(v)
			case "pts":
				if v != "N/A" {
					p.PTS, err = strconv.ParseInt(v, 10, 64)
				}
				seen = true
			case "dts":
				if v != "N/A" {
					p.DTS, err = strconv.ParseInt(v, 10, 64)
				}
			case "duration":
				if v != "N/A" {
					p.Duration, err = strconv.ParseInt(v, 10, 64)
				}
			case "size":
				if v != "N/A" {
					p.Size, err = strconv.ParseInt(v, 10, 64)
				}
			case "flags":
				p.Key = strings.Contains(v, "K")
				p.Discard = strings.Contains(v, "D")
			}
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", line, field, err)
			}
		}
		if seen {
			pkts = append(pkts, p)
		}
	}
	return pkts, sc.Err()
}

// Extent is the span a stream's packets cover.
type Extent struct {
	Packets int
	Start   int64 // smallest pts
	End     int64 // largest pts + that packet's duration
}

// Seconds is the extent's length in seconds for time base tb.
func (e Extent) Seconds(tb Rational) float64 { return tb.Seconds(e.End - e.Start) }

// Extents summarises packets per stream index, skipping discarded packets
// and packets without timestamps.
func Extents(pkts []Packet) map[int]Extent {
	out := map[int]Extent{}
	for _, p := range pkts {
		if p.Discard || p.PTS == NoPTS {
			continue
		}
		e, ok := out[p.Stream]
		if !ok {
			e = Extent{Start: p.PTS, End: p.PTS + p.Duration}
		}
		e.Packets++
		e.Start = min(e.Start, p.PTS)
		e.End = max(e.End, p.PTS+p.Duration)
		out[p.Stream] = e
	}
	return out
}

package media

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Fragment is what one fMP4 media segment holds, read from its packets.
type Fragment struct {
	Packets int
	Bytes   int64
	// FirstKey says the segment's first packet in decode order is a
	// keyframe: a player switching rungs can start decoding there.
	FirstKey bool
	// Start and End (seconds) are the earliest presentation time and the
	// end of the latest packet.
	Start, End float64
}

// ReadFragments reads an fMP4 rendition as a player does: its init segment
// followed by each media segment, and reports each segment's packets. The
// files are joined into scratch (a valid fragmented MP4) so that one
// ffprobe reads them all; each packet's byte position says which segment
// it came from.
func ReadFragments(ctx context.Context, init string, segments []string, scratch string) ([]Fragment, error) {
	out, err := os.Create(scratch)
	if err != nil {
		return nil, err
	}
	defer os.Remove(scratch)
	ends := make([]int64, len(segments)) // end offset of each segment
	var off int64
	for i, p := range append([]string{init}, segments...) {
		in, err := os.Open(p)
		if err != nil {
			out.Close()
			return nil, err
		}
		n, err := io.Copy(out, in)
		in.Close()
		if err != nil {
			out.Close()
			return nil, fmt.Errorf("copy %s: %w", p, err)
		}
		off += n
		if i > 0 {
			ends[i-1] = off
		}
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	text, err := runTool(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=time_base:packet=pts,dts,duration,size,pos,flags",
		"-of", "compact", "--", scratch)
	if err != nil {
		return nil, err
	}
	return ParseFragments(string(text), ends)
}

// ParseFragments groups ffprobe's packets (`-show_entries
// stream=time_base:packet=pts,dts,duration,size,pos,flags -of compact`, one
// stream) into segments by byte position: ends[i] is where segment i ends
// in the joined file.
func ParseFragments(text string, ends []int64) ([]Fragment, error) {
	frags := make([]Fragment, len(ends))
	var tb Rational
	type pkt struct {
		pts, dur, size, pos int64
		key                 bool
	}
	var pkts []pkt
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		section, rest, _ := strings.Cut(line, "|")
		kv := map[string]string{}
		for _, f := range strings.Split(rest, "|") {
			k, v, _ := strings.Cut(f, "=")
			kv[k] = v
		}
		switch section {
		case "stream":
			r, err := ParseRational(kv["time_base"])
			if err != nil {
				return nil, err
			}
			tb = r
		case "packet":
			var p pkt
			var err error
			if p.pts, err = strconv.ParseInt(kv["pts"], 10, 64); err != nil {
				return nil, fmt.Errorf("packet without pts: %q", line)
			}
			p.dur, _ = strconv.ParseInt(kv["duration"], 10, 64)
			p.size, _ = strconv.ParseInt(kv["size"], 10, 64)
			if p.pos, err = strconv.ParseInt(kv["pos"], 10, 64); err != nil {
				return nil, fmt.Errorf("packet without position: %q", line)
			}
			p.key = strings.HasPrefix(kv["flags"], "K")
			pkts = append(pkts, p)
		}
	}
	if tb.IsZero() {
		return nil, fmt.Errorf("no stream time base in ffprobe's report")
	}
	seg := 0
	for _, p := range pkts {
		for seg < len(ends) && p.pos >= ends[seg] {
			seg++
		}
		if seg == len(ends) {
			return nil, fmt.Errorf("packet at byte %d is past the last segment", p.pos)
		}
		f := &frags[seg]
		start, end := tb.Seconds(p.pts), tb.Seconds(p.pts+p.dur)
		if f.Packets == 0 {
			f.FirstKey = p.key
			f.Start, f.End = start, end
		}
		f.Start = min(f.Start, start)
		f.End = max(f.End, end)
		f.Packets++
		f.Bytes += p.size
	}
	return frags, nil
}

// DecodesClean decodes the first video stream of path (a playlist, as a
// player reads it) to its end and fails on the first error its decoder
// logs. Frame counts cannot see a join of encodes whose parameter sets
// differ: every frame is there, and decodes into garbage.
func DecodesClean(ctx context.Context, path, codec string) error {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
		"-i", path, "-map", "0:v:0", "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	decoders := append([]string{codec}, otherDecoders[codec]...)
	for _, l := range strings.Split(stderr.String(), "\n") {
		if l = strings.TrimSpace(l); loggedBy(l, decoders) {
			return fmt.Errorf("the video does not decode cleanly: %s", cleanLine(l))
		}
	}
	if err != nil {
		return fmt.Errorf("decode: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

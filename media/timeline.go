package media

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Break is a place where a stream's decode timestamps stop following on:
// a splice, a capture that skipped, a clock that restarted.
type Break struct {
	// Packet is the index, among the stream's packets in decode order, of
	// the first packet after the break.
	Packet int
	// DTS is that packet's decode timestamp, Expected the one that would
	// have continued the stream (the previous dts plus its duration).
	DTS, Expected int64
	// Last is the dts of the packet before the break.
	Last int64
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
				out = append(out, Break{Packet: n, DTS: p.DTS, Expected: expected, Last: last})
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

// DamageReport picks, from the lines a successful ffmpeg run left on
// stderr (at -v error, with -progress reports mixed in on a swarm), the
// first that reports trouble: a decoder or demuxer that met damaged data
// says so there and carries on, concealing it. "" when there is none.
//
// Only lines logged with a context ("[h264 @ 0x...] ...") count: encoder
// libraries print their own chatter to stderr whatever the log level
// ("Svt[info]: ...", "x265 [info]: ...").
func DamageReport(lines []string) string {
	for _, l := range lines {
		if progressLine.MatchString(l) || seekArtifact(l) || !strings.HasPrefix(l, "[") {
			continue
		}
		return cleanLine(l)
	}
	return ""
}

// seekArtifact reports whether a decoder line only says that a frame
// refers to one decoded before the seek point: every segment that starts
// after a keyframe meets these on frames it does not keep (and a frame it
// keeps that lacked its reference would change the frame count or the
// whole-file decode alike).
func seekArtifact(line string) bool {
	for _, s := range []string{
		"Missing reference picture",
		"co located POCs unavailable",
		"mmco: unref short failure",
		"reference picture missing during reorder",
		"Could not find ref with POC",
		"Error constructing the frame RPS",
		"decode_slice_header error", // follows a missing reference
		"no frame!",
		"Last message repeated",
	} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// progressLine is one key=value line of ffmpeg's -progress reports.
var progressLine = regexp.MustCompile(`^[a-z_0-9]+=\S*$`)

// Corrupt is a packet the demuxer flagged as damaged: in MPEG-TS, one with
// a continuity error or a PES size mismatch (a capture that lost data).
type Corrupt struct {
	Stream int
	DTS    int64 // NoPTS when the demuxer did not say
}

// ReadCorrupt demuxes path (no decoding) and returns the packets of the
// stream (absolute index) the demuxer flags as corrupt.
func ReadCorrupt(ctx context.Context, path string, stream int) ([]Corrupt, error) {
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "warning", "-select_streams", strconv.Itoa(stream),
		"-show_entries", "packet=stream_index", "-of", "csv=p=0", "--", path)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	var out []Corrupt
	for _, c := range ParseCorrupt(stderr) {
		if c.Stream == stream {
			out = append(out, c)
		}
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("ffprobe corrupt packets of %s: %w", path, err)
	}
	return out, nil
}

// ParseCorrupt reads the demuxer's "Packet corrupt (stream = S, dts = D)"
// warnings from ffprobe's stderr.
func ParseCorrupt(r io.Reader) []Corrupt {
	var out []Corrupt
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := corruptLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		c := Corrupt{DTS: NoPTS}
		c.Stream, _ = strconv.Atoi(m[1])
		if v, err := strconv.ParseInt(m[2], 10, 64); err == nil {
			c.DTS = v
		}
		out = append(out, c)
	}
	return out
}

var corruptLine = regexp.MustCompile(`Packet corrupt \(stream = (\d+), dts = (-?\d+|NOPTS)\)`)

// GOPEnds returns the dts of every packet of stream that comes just before
// a keyframe in decode order: where a capture spliced at a keyframe breaks
// its continuity counters, and where damage stays inside the GOP it ends.
func GOPEnds(pkts []Packet, stream int) map[int64]bool {
	out := map[int64]bool{}
	prev := NoPTS
	for _, p := range pkts {
		if p.Stream != stream || p.Discard {
			continue
		}
		if p.Key && prev != NoPTS {
			out[prev] = true
		}
		prev = p.DTS
	}
	return out
}

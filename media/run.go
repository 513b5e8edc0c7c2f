package media

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ToolError is a failed ffmpeg or ffprobe run: which tool, its exit status
// and the last line it printed on stderr, which is almost always the cause.
type ToolError struct {
	Tool     string
	ExitCode int
	LastLine string
	Err      error
}

func (e *ToolError) Error() string {
	msg := fmt.Sprintf("%s exited %d", e.Tool, e.ExitCode)
	if e.ExitCode < 0 {
		msg = fmt.Sprintf("%s: %v", e.Tool, e.Err)
	}
	if e.LastLine != "" {
		msg += ": " + e.LastLine
	}
	return msg
}

func (e *ToolError) Unwrap() error { return e.Err }

// runTool runs a tool to completion and returns its stdout.
func runTool(ctx context.Context, tool string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, tool, args...)
	var stdout bytes.Buffer
	tail := &tailWriter{max: 20}
	cmd.Stdout = &stdout
	cmd.Stderr = tail
	if err := cmd.Run(); err != nil {
		return nil, toolError(ctx, tool, err, tail)
	}
	return stdout.Bytes(), nil
}

func toolError(ctx context.Context, tool string, err error, tail *tailWriter) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	te := &ToolError{Tool: tool, ExitCode: -1, Err: err, LastLine: tail.Last()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		te.ExitCode = ee.ExitCode()
	}
	return te
}

// Progress is one report of a running ffmpeg (from -progress).
type Progress struct {
	Frame int64
	FPS   float64
	// Elapsed is seconds on ffmpeg's own clock since it began encoding
	// (out_time over speed; 0 when unknown): without a container's
	// start-up, and known before the first second, when fps is still 0.
	Elapsed float64
	Done    bool
}

// Rate is frames per second on ffmpeg's own clock: its fps, or, under a
// second in (where ffmpeg prints fps=0), frames over Elapsed. 0 when
// unknown.
func (p Progress) Rate() float64 {
	if p.FPS > 0 {
		return p.FPS
	}
	if p.Elapsed > 0 {
		return float64(p.Frame) / p.Elapsed
	}
	return 0
}

// FFmpegArgs is the full argument list dswarm runs ffmpeg with: quiet,
// no stdin, errors only.
func FFmpegArgs(args []string) []string {
	return append([]string{"-nostdin", "-hide_banner", "-nostats", "-v", "error"}, args...)
}

// TellingLine picks the line of a tool's output that best tells why it
// failed (see tailWriter.Last).
func TellingLine(lines []string) string {
	t := &tailWriter{max: len(lines) + 1, lines: lines}
	return t.Last()
}

// RunFFmpeg runs ffmpeg with args (no shell). When onProgress is non-nil,
// ffmpeg's -progress reports are parsed from stdout and passed to it.
func RunFFmpeg(ctx context.Context, args []string, onProgress func(Progress)) error {
	_, err := RunFFmpegLog(ctx, args, onProgress)
	return err
}

// RunFFmpegLog is RunFFmpeg that also returns ffmpeg's last lines on stderr
// (errors only, at most 20) when it succeeds: a decoder reports damage
// there and carries on.
func RunFFmpegLog(ctx context.Context, args []string, onProgress func(Progress)) ([]string, error) {
	return (*Sandbox)(nil).FFmpeg(ctx, args, onProgress)
}

// ParseProgress reads ffmpeg's -progress key=value blocks and calls fn at the
// end of each block.
func ParseProgress(r io.Reader, fn func(Progress)) {
	sc := bufio.NewScanner(r)
	var p Progress
	var outTime, speed float64
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "frame":
			p.Frame, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		case "fps":
			p.FPS, _ = strconv.ParseFloat(strings.TrimSpace(v), 64)
		case "out_time_us":
			us, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			outTime = float64(us) / 1e6
		case "speed":
			speed, _ = strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), "x"), 64)
		case "progress":
			p.Done = v == "end"
			// speed is out_time over ffmpeg's clock (with -copyts too:
			// both are the same output timestamp).
			p.Elapsed = 0
			if outTime > 0 && speed > 0 {
				p.Elapsed = outTime / speed
			}
			fn(p)
			outTime, speed = 0, 0
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// tailWriter keeps the last lines written to it.
type tailWriter struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part = append(t.part, p...)
	for {
		i := bytes.IndexAny(t.part, "\r\n")
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(t.part[:i])); line != "" {
			t.lines = append(t.lines, line)
			if len(t.lines) > t.max {
				t.lines = t.lines[len(t.lines)-t.max:]
			}
		}
		t.part = t.part[i+1:]
	}
	return len(p), nil
}

// all returns the lines kept, and an unfinished last one.
func (t *tailWriter) all() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := append([]string(nil), t.lines...)
	if rest := strings.TrimSpace(string(t.part)); rest != "" {
		lines = append(lines, rest)
	}
	return lines
}

// Last returns the most telling recent line: the last one, unless it is
// ffmpeg's generic closing remark, in which case the line before it.
func (t *tailWriter) Last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if rest := strings.TrimSpace(string(t.part)); rest != "" {
		lines = append(lines, rest)
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if !isGenericRemark(lines[i]) || i == 0 {
			line := cleanLine(lines[i])
			// "Invalid data found" says little alone; the line before it
			// usually says what was wrong ("moov atom not found").
			if strings.HasSuffix(line, "Invalid data found when processing input") && i > 0 {
				line = cleanLine(lines[i-1]) + "; " + line
			}
			return line
		}
	}
	return ""
}

// "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55a98bb2e880] moov atom not found"
var contextPrefix = regexp.MustCompile(`^\[([^\]@]+?) @ 0x[0-9a-f]+\] `)

// cleanLine drops the pointer from ffmpeg's "[component @ 0x...]" prefix.
func cleanLine(line string) string {
	return contextPrefix.ReplaceAllString(line, "$1: ")
}

func isGenericRemark(line string) bool {
	for _, g := range []string{
		"Conversion failed!",
		"Error splitting the argument list",
		"Exiting normally",
		"Error initializing output stream",
		"Error while opening encoder",
		"Could not write header for output file",
		"Error opening output files",
	} {
		if strings.HasPrefix(line, g) {
			return true
		}
	}
	return false
}

package media

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// FrameFormat is the size and pixel format of a stream's frames.
type FrameFormat struct {
	Width, Height int
	PixFmt        string
}

// String is "WxH pix_fmt".
func (f FrameFormat) String() string { return fmt.Sprintf("%dx%d %s", f.Width, f.Height, f.PixFmt) }

// filters scales to the size and converts to the pixel format as ffmpeg
// does when a stream's frames change size after its encoder was opened:
// a scale filter (with the graph's default flags) and a format filter.
// Frames that already match pass through untouched.
func (f FrameFormat) filters() string {
	s := fmt.Sprintf("scale=%d:%d", f.Width, f.Height)
	if f.PixFmt != "" {
		s += ",format=" + f.PixFmt
	}
	return s
}

// ReadFrameFormat reads the size and pixel format of the first video
// stream of path, as its header declares them (no decoding).
func ReadFrameFormat(ctx context.Context, path string) (FrameFormat, error) {
	out, err := runTool(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=width,height,pix_fmt", "-of", "csv=p=0", "--", path)
	if err != nil {
		return FrameFormat{}, err
	}
	f, err := ParseFrameFormat(string(out))
	if err != nil {
		return FrameFormat{}, fmt.Errorf("ffprobe frame format of %s: %w", path, err)
	}
	return f, nil
}

// ParseFrameFormat parses ffprobe's "width,height,pix_fmt" csv line.
func ParseFrameFormat(out string) (FrameFormat, error) {
	// ffprobe ends some streams' line with an empty field
	// ("320,240,yuv420p," for mpeg2video).
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	fields := strings.Split(strings.TrimRight(line, ","), ",")
	if len(fields) != 3 {
		return FrameFormat{}, fmt.Errorf("no video stream in %q", strings.TrimSpace(out))
	}
	w, err1 := strconv.Atoi(fields[0])
	h, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil {
		return FrameFormat{}, fmt.Errorf("frame size %q", strings.TrimSpace(out))
	}
	return FrameFormat{Width: w, Height: h, PixFmt: fields[2]}, nil
}

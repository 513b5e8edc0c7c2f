package media

import "fmt"

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

// FormatOf is the frame format of s (a probed video stream).
func FormatOf(s Stream) FrameFormat {
	return FrameFormat{Width: s.Width, Height: s.Height, PixFmt: s.PixFmt}
}

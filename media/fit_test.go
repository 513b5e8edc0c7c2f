package media

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSegmentCommandFit(t *testing.T) {
	cmd := SegmentCommand{
		Input: "in.ts", VideoStream: 0, TimeBase: Rational{1, 90000},
		Seek: 486000, StartPTS: 486000, EndPTS: 576000,
		Filter: "crop=iw/2:ih/2",
		Fit:    &FrameFormat{Width: 320, Height: 240, PixFmt: "yuv420p"},
		Output: "seg.nut",
	}
	args := cmd.Args()
	vf := ""
	for i, a := range args {
		if a == "-vf" {
			vf = args[i+1]
		}
	}
	assert.Equal(t, "settb=expr=1/90000,trim=start_pts=486000:end_pts=576000,setpts=PTS-STARTPTS,crop=iw/2:ih/2,scale=320:240,format=yuv420p", vf,
		"the fit comes last, after the user's filter, as ffmpeg's own scaler to the encoder's size")

	cmd.Fit = &FrameFormat{Width: 640, Height: 360}
	assert.Contains(t, cmd.Args(), "settb=expr=1/90000,trim=start_pts=486000:end_pts=576000,setpts=PTS-STARTPTS,crop=iw/2:ih/2,scale=640:360")
}

func TestFrameFormatString(t *testing.T) {
	assert.Equal(t, "1920x1080 yuv420p10le", FrameFormat{Width: 1920, Height: 1080, PixFmt: "yuv420p10le"}.String())
}

func TestParseFrameFormat(t *testing.T) {
	f, err := ParseFrameFormat("480,360,yuv420p\n")
	assert.NoError(t, err)
	assert.Equal(t, FrameFormat{Width: 480, Height: 360, PixFmt: "yuv420p"}, f)
	f, err = ParseFrameFormat("320,240,yuv420p,\n") // mpeg2video's line
	assert.NoError(t, err)
	assert.Equal(t, FrameFormat{Width: 320, Height: 240, PixFmt: "yuv420p"}, f)
	for _, bad := range []string{"", "480,360", "x,360,yuv420p"} {
		_, err := ParseFrameFormat(bad)
		assert.Error(t, err, "%q", bad)
	}
}

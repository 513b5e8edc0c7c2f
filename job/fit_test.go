package job

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dswarm/dswarm/media"
)

func TestChangedFormats(t *testing.T) {
	sd := media.FrameFormat{Width: 320, Height: 240, PixFmt: "yuv420p"}
	hd := media.FrameFormat{Width: 480, Height: 360, PixFmt: "yuv420p"}
	sd422 := media.FrameFormat{Width: 320, Height: 240, PixFmt: "yuv422p"}
	for _, tt := range []struct {
		name    string
		formats []media.FrameFormat
		want    []int
	}{
		{"one segment", []media.FrameFormat{sd}, nil},
		{"one size throughout", []media.FrameFormat{sd, sd, sd}, nil},
		{"an ad at another size and back", []media.FrameFormat{sd, hd, hd, sd}, []int{1, 2}},
		{"another pixel format", []media.FrameFormat{sd, sd422}, []int{1}},
		{"the first segment sets the format", []media.FrameFormat{hd, sd, hd}, []int{1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, changedFormats(tt.formats))
		})
	}
}

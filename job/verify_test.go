package job

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checks below are on a 4 s, 25 fps source of 100 frames planned as four
// segments of 25 frames, with one audio stream starting 21 ms before the
// video (AAC priming).
const frameDur = 0.04

func expect() Expect {
	return Expect{
		Frames:        100,
		SegmentStarts: []float64{0, 1, 2, 3},
		SegmentFrames: []int{25, 25, 25, 25},
		FrameDuration: frameDur,
	}
}

func srcFacts() Facts {
	return Facts{
		Video: StreamFacts{Start: 0, Duration: 4, Packets: 100},
		Audio: []StreamFacts{{Start: -0.021, Duration: 4.02, Packets: 174}},
	}
}

// outputPTS is the output's sorted video timestamps: each segment rebased
// to its planned start (as the concat list's durations place it) plus base,
// with per-segment frame counts.
func outputPTS(base float64, counts ...int) []float64 {
	var pts []float64
	for seg, n := range counts {
		for i := 0; i < n; i++ {
			pts = append(pts, base+float64(seg)+float64(i)*frameDur)
		}
	}
	return pts
}

// evenPTS is n frames one frame duration apart from 0.
func evenPTS(n int) []float64 {
	pts := make([]float64, n)
	for i := range pts {
		pts[i] = float64(i) * frameDur
	}
	return pts
}

// outFacts is a correct output (starting at base) with changes applied.
func outFacts(base float64, change func(*Facts)) Facts {
	f := Facts{
		Video:    StreamFacts{Start: base, Duration: 4, Packets: 100},
		VideoPTS: outputPTS(base, 25, 25, 25, 25),
		Audio:    []StreamFacts{{Start: base - 0.021, Duration: 4.02, Packets: 174}},
	}
	if change != nil {
		change(&f)
	}
	return f
}

func TestCheckPasses(t *testing.T) {
	tests := []struct {
		name string
		src  Facts
		out  Facts
		want []AudioCheck
	}{
		{
			name: "equal facts",
			src:  srcFacts(),
			out:  outFacts(0, nil),
			want: []AudioCheck{{SourceDuration: 4.02, OutputDuration: 4.02, SourceOffset: -0.021, OutputOffset: -0.021}},
		},
		{
			// Sync is measured against each file's own first video frame.
			name: "output shifted as a whole",
			src:  srcFacts(),
			out:  outFacts(1.5, nil),
			want: []AudioCheck{{SourceDuration: 4.02, OutputDuration: 4.02, SourceOffset: -0.021, OutputOffset: -0.021}},
		},
		{
			name: "within tolerances",
			src:  srcFacts(),
			out: outFacts(0, func(f *Facts) {
				f.Video.Duration = 4 + frameDur
				f.Audio[0].Duration = 4.02 + 0.045
				f.Audio[0].Start = -0.021 + 0.045
			}),
			want: []AudioCheck{{SourceDuration: 4.02, OutputDuration: 4.065, SourceOffset: -0.021, OutputOffset: 0.024}},
		},
		{
			name: "shorter within tolerances",
			src:  srcFacts(),
			out: outFacts(0, func(f *Facts) {
				f.Video.Duration = 4 - frameDur
				f.Audio[0].Duration = 4.02 - 0.045
				f.Audio[0].Start = -0.021 - 0.045
			}),
			want: []AudioCheck{{SourceDuration: 4.02, OutputDuration: 3.975, SourceOffset: -0.021, OutputOffset: -0.066}},
		},
		{
			name: "no audio",
			src:  Facts{Video: StreamFacts{Duration: 4, Packets: 100}},
			out:  outFacts(0, func(f *Facts) { f.Audio = nil }),
			want: []AudioCheck{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.src, tt.out, expect())
			require.NoError(t, err)
			require.Len(t, got, len(tt.want))
			for i, w := range tt.want {
				assert.InDelta(t, w.SourceDuration, got[i].SourceDuration, 1e-9)
				assert.InDelta(t, w.OutputDuration, got[i].OutputDuration, 1e-9)
				assert.InDelta(t, w.SourceOffset, got[i].SourceOffset, 1e-9)
				assert.InDelta(t, w.OutputOffset, got[i].OutputOffset, 1e-9)
			}
		})
	}
}

func TestCheckFails(t *testing.T) {
	twoAudio := srcFacts()
	twoAudio.Audio = append(twoAudio.Audio, StreamFacts{Start: 0, Duration: 4.02})
	tests := []struct {
		name string
		src  Facts
		out  Facts
		want string
	}{
		{
			// A frame in the middle of segment 2 is lost.
			name: "frame missing in segment 2",
			src:  srcFacts(),
			out: outFacts(0.5, func(f *Facts) {
				f.Video.Packets = 99
				f.VideoPTS = append(f.VideoPTS[:60:60], f.VideoPTS[61:]...)
			}),
			want: "output has 99 video frames, source 100: segment 2 has 24 frames in the output, planned 25",
		},
		{
			// Segment 1 lost its first frame: rebased to its second frame,
			// its frames all come one frame early.
			name: "first frame of segment 1 missing",
			src:  srcFacts(),
			out: outFacts(0, func(f *Facts) {
				f.Video.Packets = 99
				f.VideoPTS = outputPTS(0, 25, 24, 25, 25)
			}),
			want: "output has 99 video frames, source 100: segment 1 has 24 frames in the output, planned 25",
		},
		{
			name: "first frame of the output missing",
			src:  srcFacts(),
			out: outFacts(0, func(f *Facts) {
				f.Video.Packets = 99
				f.VideoPTS = outputPTS(0, 24, 25, 25, 25)
			}),
			want: "output has 99 video frames, source 100: segment 0 has 24 frames in the output, planned 25",
		},
		{
			name: "frame repeated in the last segment",
			src:  srcFacts(),
			out: outFacts(0, func(f *Facts) {
				f.Video.Packets = 101
				f.VideoPTS = outputPTS(0, 25, 25, 25, 26)
			}),
			want: "output has 101 video frames, source 100: segment 3 has 26 frames in the output, planned 25",
		},
		{
			name: "frame count off without timestamps to blame",
			src:  srcFacts(),
			out: outFacts(0, func(f *Facts) {
				f.Video.Packets = 98
				f.VideoPTS = nil
			}),
			want: "output has 98 video frames, source 100",
		},
		{
			name: "video longer by more than a frame",
			src:  srcFacts(),
			out:  outFacts(0, func(f *Facts) { f.Video.Duration = 4.05 }),
			want: "output video lasts 4.050s, source 4.000s: off by more than one frame (0.040s)",
		},
		{
			name: "video shorter by more than a frame",
			src:  srcFacts(),
			out:  outFacts(0, func(f *Facts) { f.Video.Duration = 3.9 }),
			want: "output video lasts 3.900s, source 4.000s: off by more than one frame (0.040s)",
		},
		{
			name: "audio stream lost",
			src:  srcFacts(),
			out:  outFacts(0, func(f *Facts) { f.Audio = nil }),
			want: "output has 0 audio streams, source 1",
		},
		{
			name: "audio stream added",
			src:  srcFacts(),
			out:  outFacts(0, func(f *Facts) { f.Audio = append(f.Audio, f.Audio[0]) }),
			want: "output has 2 audio streams, source 1",
		},
		{
			name: "audio longer by more than 50 ms",
			src:  srcFacts(),
			out:  outFacts(0, func(f *Facts) { f.Audio[0].Duration = 4.08 }),
			want: "audio stream 0 lasts 4.080s in the output, 4.020s in the source: off by more than 50 ms",
		},
		{
			name: "second audio stream shorter by more than 50 ms",
			src:  twoAudio,
			out: outFacts(0, func(f *Facts) {
				f.Audio = append(f.Audio, StreamFacts{Start: 0, Duration: 3.96})
			}),
			want: "audio stream 1 lasts 3.960s in the output, 4.020s in the source: off by more than 50 ms",
		},
		{
			name: "audio late by more than 50 ms",
			src:  srcFacts(),
			out:  outFacts(0, func(f *Facts) { f.Audio[0].Start = 0.04 }),
			want: "audio stream 0 starts 0.040s from the video in the output, -0.021s in the source: out of sync by more than 50 ms",
		},
		{
			// The audio kept its place but the video moved.
			name: "video late against the audio",
			src:  srcFacts(),
			out:  outFacts(0, func(f *Facts) { f.Video.Start = 0.06 }),
			want: "audio stream 0 starts -0.081s from the video in the output, -0.021s in the source: out of sync by more than 50 ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks, err := Check(tt.src, tt.out, expect())
			assert.EqualError(t, err, tt.want)
			assert.Nil(t, checks)
		})
	}
}

func TestBlameSegment(t *testing.T) {
	tests := []struct {
		name   string
		pts    []float64
		exp    Expect
		seg    int
		got    int
		want   int
		blamed bool
	}{
		{name: "no timestamps", pts: nil, exp: expect()},
		{name: "no segments", pts: outputPTS(0, 25), exp: Expect{FrameDuration: frameDur}},
		{name: "every segment whole", pts: outputPTS(0.3, 25, 25, 25, 25), exp: expect()},
		{name: "segment 3 short", pts: outputPTS(0, 25, 25, 25, 20), exp: expect(), seg: 3, got: 20, want: 25, blamed: true},
		{name: "first mismatch wins", pts: outputPTS(0, 25, 24, 23, 25), exp: expect(), seg: 1, got: 24, want: 25, blamed: true},
		{
			name: "uneven segments",
			pts:  evenPTS(50),
			exp: Expect{
				SegmentStarts: []float64{0, 30 * frameDur},
				SegmentFrames: []int{30, 21},
				FrameDuration: frameDur,
			},
			seg: 1, got: 20, want: 21, blamed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seg, got, want, ok := blameSegment(tt.pts, tt.exp)
			assert.Equal(t, tt.blamed, ok)
			assert.Equal(t, tt.seg, seg)
			assert.Equal(t, tt.got, got)
			assert.Equal(t, tt.want, want)
		})
	}
}

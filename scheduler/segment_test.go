package scheduler

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stream builds n frames of duration d starting at pts start. keyAt says
// which frame indexes are keyframes. Frame i is i+1 bytes, so that a
// segment's Bytes tells exactly which frames it holds.
func stream(n int, start, d int64, keyAt func(i int) bool) []Frame {
	frames := make([]Frame, n)
	for i := range frames {
		frames[i] = Frame{PTS: start + int64(i)*d, Duration: d, Size: int64(i + 1), Key: keyAt(i)}
	}
	return frames
}

func every(gop int) func(int) bool { return func(i int) bool { return i%gop == 0 } }

func at(idx ...int) func(int) bool {
	return func(i int) bool {
		for _, k := range idx {
			if i == k {
				return true
			}
		}
		return false
	}
}

func none(int) bool { return false }

// bytesOf is the Bytes of frames [first, first+count) built by stream.
func bytesOf(first, count int) int64 {
	var b int64
	for i := first; i < first+count; i++ {
		b += int64(i + 1)
	}
	return b
}

// want is a segment in frame indexes; the test turns indexes into pts.
type want struct {
	first, count int
	seek         int // frame index of Seek, -1 for NoSeek
	fallback     int // frame index of FallbackSeek, -1 for NoSeek
	onKey        bool
}

func TestPlanSegments(t *testing.T) {
	const d = 512 // 25 fps in a 1/12800 time base
	tests := []struct {
		name   string
		frames []Frame
		opt    SegmentOptions
		want   []want
	}{
		{
			// GOP of 12, target 50 frames: each cut waits for the next
			// keyframe (60, 120, 180); the 10-frame tail after 240 is
			// shorter than Min and folds into the last segment.
			name:   "regular keyframes",
			frames: stream(250, 0, d, every(12)),
			opt:    SegmentOptions{Target: 50 * d},
			want: []want{
				{first: 0, count: 60, seek: -1, fallback: -1, onKey: true},
				{first: 60, count: 60, seek: 60, fallback: 48, onKey: true},
				{first: 120, count: 60, seek: 120, fallback: 108, onKey: true},
				{first: 180, count: 70, seek: 180, fallback: 168, onKey: true},
			},
		},
		{
			// An MPEG-TS style start: timestamps do not begin at 0.
			name:   "regular keyframes, stream not starting at zero",
			frames: stream(250, 126000, 3600, every(12)),
			opt:    SegmentOptions{Target: 50 * 3600},
			want: []want{
				{first: 0, count: 60, seek: -1, fallback: -1, onKey: true},
				{first: 60, count: 60, seek: 60, fallback: 48, onKey: true},
				{first: 120, count: 60, seek: 120, fallback: 108, onKey: true},
				{first: 180, count: 70, seek: 180, fallback: 168, onKey: true},
			},
		},
		{
			// One keyframe in 10 s: the stream still splits every 2 s,
			// each segment decoding from that keyframe.
			name:   "single keyframe at zero",
			frames: stream(250, 0, d, at(0)),
			opt:    SegmentOptions{Target: 50 * d},
			want: []want{
				{first: 0, count: 50, seek: -1, fallback: -1, onKey: true},
				{first: 50, count: 50, seek: 0, fallback: -1, onKey: false},
				{first: 100, count: 50, seek: 0, fallback: -1, onKey: false},
				{first: 150, count: 50, seek: 0, fallback: -1, onKey: false},
				{first: 200, count: 50, seek: 0, fallback: -1, onKey: false},
			},
		},
		{
			// Intra refresh: no keyframe at all, so every segment decodes
			// from the file's start.
			name:   "no keyframes",
			frames: stream(100, 0, 1, none),
			opt:    SegmentOptions{Target: 25},
			want: []want{
				{first: 0, count: 25, seek: -1, fallback: -1, onKey: true},
				{first: 25, count: 25, seek: -1, fallback: -1, onKey: false},
				{first: 50, count: 25, seek: -1, fallback: -1, onKey: false},
				{first: 75, count: 25, seek: -1, fallback: -1, onKey: false},
			},
		},
		{
			name:   "first keyframe after the first frame",
			frames: stream(100, 0, 1, at(5)),
			opt:    SegmentOptions{Target: 40},
			want: []want{
				{first: 0, count: 40, seek: -1, fallback: -1, onKey: true},
				{first: 40, count: 40, seek: 5, fallback: -1, onKey: false},
				{first: 80, count: 20, seek: 5, fallback: -1, onKey: false},
			},
		},
		{
			name:   "slack: keyframe within slack is waited for",
			frames: stream(300, 0, 1, at(0, 115, 230)),
			opt:    SegmentOptions{Target: 100, Slack: 20},
			want: []want{
				{first: 0, count: 115, seek: -1, fallback: -1, onKey: true},
				{first: 115, count: 115, seek: 115, fallback: 0, onKey: true},
				{first: 230, count: 70, seek: 230, fallback: 115, onKey: true},
			},
		},
		{
			name:   "slack: keyframe exactly at target+slack is waited for",
			frames: stream(300, 0, 1, at(0, 120)),
			opt:    SegmentOptions{Target: 100, Slack: 20},
			want: []want{
				{first: 0, count: 120, seek: -1, fallback: -1, onKey: true},
				{first: 120, count: 100, seek: 120, fallback: 0, onKey: true},
				{first: 220, count: 80, seek: 120, fallback: 0, onKey: false},
			},
		},
		{
			name:   "slack: keyframe one tick past target+slack is not waited for",
			frames: stream(300, 0, 1, at(0, 121)),
			opt:    SegmentOptions{Target: 100, Slack: 20},
			want: []want{
				{first: 0, count: 100, seek: -1, fallback: -1, onKey: true},
				{first: 100, count: 100, seek: 0, fallback: -1, onKey: false},
				{first: 200, count: 100, seek: 121, fallback: 0, onKey: false},
			},
		},
		{
			name:   "slack: default is half the target, waited",
			frames: stream(300, 0, 1, at(0, 145)),
			opt:    SegmentOptions{Target: 100},
			want: []want{
				{first: 0, count: 145, seek: -1, fallback: -1, onKey: true},
				{first: 145, count: 100, seek: 145, fallback: 0, onKey: true},
				{first: 245, count: 55, seek: 145, fallback: 0, onKey: false},
			},
		},
		{
			name:   "slack: default is half the target, too far",
			frames: stream(300, 0, 1, at(0, 151)),
			opt:    SegmentOptions{Target: 100},
			want: []want{
				{first: 0, count: 100, seek: -1, fallback: -1, onKey: true},
				{first: 100, count: 100, seek: 0, fallback: -1, onKey: false},
				{first: 200, count: 100, seek: 151, fallback: 0, onKey: false},
			},
		},
		{
			name:   "min: tail one tick short of default min folds",
			frames: stream(249, 0, 1, every(1)),
			opt:    SegmentOptions{Target: 100},
			want: []want{
				{first: 0, count: 100, seek: -1, fallback: -1, onKey: true},
				{first: 100, count: 149, seek: 100, fallback: 99, onKey: true},
			},
		},
		{
			name:   "min: tail of exactly default min stays",
			frames: stream(250, 0, 1, every(1)),
			opt:    SegmentOptions{Target: 100},
			want: []want{
				{first: 0, count: 100, seek: -1, fallback: -1, onKey: true},
				{first: 100, count: 100, seek: 100, fallback: 99, onKey: true},
				{first: 200, count: 50, seek: 200, fallback: 199, onKey: true},
			},
		},
		{
			name:   "min: explicit min, tail short",
			frames: stream(229, 0, 1, every(1)),
			opt:    SegmentOptions{Target: 100, Min: 30},
			want: []want{
				{first: 0, count: 100, seek: -1, fallback: -1, onKey: true},
				{first: 100, count: 129, seek: 100, fallback: 99, onKey: true},
			},
		},
		{
			name:   "min: explicit min, tail long enough",
			frames: stream(230, 0, 1, every(1)),
			opt:    SegmentOptions{Target: 100, Min: 30},
			want: []want{
				{first: 0, count: 100, seek: -1, fallback: -1, onKey: true},
				{first: 100, count: 100, seek: 100, fallback: 99, onKey: true},
				{first: 200, count: 30, seek: 200, fallback: 199, onKey: true},
			},
		},
		{
			name:   "min: a single short tail folds into the only segment",
			frames: stream(101, 0, 1, every(1)),
			opt:    SegmentOptions{Target: 100},
			want: []want{
				{first: 0, count: 101, seek: -1, fallback: -1, onKey: true},
			},
		},
		{
			name:   "shorter than target",
			frames: stream(50, 0, 1, every(10)),
			opt:    SegmentOptions{Target: 100},
			want: []want{
				{first: 0, count: 50, seek: -1, fallback: -1, onKey: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := PlanSegments(tt.frames, tt.opt)
			require.NoError(t, err)
			require.Len(t, segs, len(tt.want))
			pts := func(i int) int64 {
				if i < 0 {
					return NoSeek
				}
				return tt.frames[i].PTS
			}
			last := tt.frames[len(tt.frames)-1]
			for i, w := range tt.want {
				end := last.PTS + last.Duration
				if i+1 < len(tt.want) {
					end = tt.frames[tt.want[i+1].first].PTS
				}
				assert.Equal(t, Segment{
					Index:        i,
					First:        w.first,
					Count:        w.count,
					StartPTS:     tt.frames[w.first].PTS,
					EndPTS:       end,
					Last:         i == len(tt.want)-1,
					Seek:         pts(w.seek),
					FallbackSeek: pts(w.fallback),
					OnKeyframe:   w.onKey,
					Bytes:        bytesOf(w.first, w.count),
				}, segs[i], "segment %d", i)
			}
		})
	}
}

func TestPlanSegmentsEnd(t *testing.T) {
	tests := []struct {
		name   string
		frames []Frame
		end    int64
	}{
		{"last duration given", []Frame{{PTS: 0, Duration: 10, Key: true}, {PTS: 10, Duration: 7}}, 17},
		{"last duration missing: previous spacing", []Frame{{PTS: 0, Key: true}, {PTS: 10}, {PTS: 25}}, 40},
		{"single frame with duration", []Frame{{PTS: 90, Duration: 3003, Key: true}}, 3093},
		{"single frame without duration", []Frame{{PTS: 90, Key: true}}, 91},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := PlanSegments(tt.frames, SegmentOptions{Target: 1000})
			require.NoError(t, err)
			require.Len(t, segs, 1)
			assert.Equal(t, tt.end, segs[0].EndPTS)
			assert.Equal(t, tt.end-tt.frames[0].PTS, segs[0].Duration())
			assert.True(t, segs[0].Last)
			assert.Equal(t, len(tt.frames), segs[0].Count)
		})
	}
}

func TestPlanSegmentsErrors(t *testing.T) {
	tests := []struct {
		name    string
		frames  []Frame
		opt     SegmentOptions
		wantErr string
		is      error
	}{
		{name: "no frames", frames: nil, opt: SegmentOptions{Target: 10}, is: ErrNoFrames},
		{name: "empty frames", frames: []Frame{}, opt: SegmentOptions{Target: 10}, is: ErrNoFrames},
		{
			name:    "equal timestamps",
			frames:  []Frame{{PTS: 0, Key: true}, {PTS: 10}, {PTS: 10}},
			opt:     SegmentOptions{Target: 10},
			wantErr: "frame 2: timestamp 10 does not follow 10: timestamps must strictly increase",
		},
		{
			name:    "decreasing timestamps",
			frames:  []Frame{{PTS: 0, Key: true}, {PTS: 20}, {PTS: 10}},
			opt:     SegmentOptions{Target: 10},
			wantErr: "frame 2: timestamp 10 does not follow 20: timestamps must strictly increase",
		},
		{
			name:    "zero target",
			frames:  stream(10, 0, 1, every(1)),
			opt:     SegmentOptions{},
			wantErr: "segment target must be positive, got 0",
		},
		{
			name:    "negative target",
			frames:  stream(10, 0, 1, every(1)),
			opt:     SegmentOptions{Target: -5},
			wantErr: "segment target must be positive, got -5",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := PlanSegments(tt.frames, tt.opt)
			require.Error(t, err)
			assert.Nil(t, segs)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			} else {
				assert.EqualError(t, err, tt.wantErr)
			}
		})
	}
}

// TestPlanSegmentsProperties plans random streams (irregular spacing,
// missing durations, any keyframe density, any options) and checks that the
// plan always tiles the frames exactly and follows the cut rules.
func TestPlanSegmentsProperties(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for c := 0; c < 400; c++ {
		n := 1 + r.Intn(300)
		keyProb := []float64{0, 0.02, 0.1, 0.5, 1}[r.Intn(5)]
		frames := make([]Frame, n)
		pts := r.Int63n(1000) - 500
		var maxGap int64
		for i := range frames {
			if i > 0 {
				gap := 1 + r.Int63n(5)
				if r.Intn(20) == 0 {
					gap = 1 + r.Int63n(50) // variable frame rate
				}
				maxGap = max(maxGap, gap)
				pts += gap
			}
			frames[i] = Frame{PTS: pts, Duration: r.Int63n(7), Size: r.Int63n(5000), Key: r.Float64() < keyProb}
		}
		opt := SegmentOptions{Target: 1 + r.Int63n(200), Min: r.Int63n(150), Slack: r.Int63n(150)}
		minDur, slack := opt.Min, opt.Slack
		if minDur == 0 {
			minDur = opt.Target / 2
		}
		if slack == 0 {
			slack = opt.Target / 2
		}
		last := frames[n-1]
		end := last.PTS + last.Duration
		if last.Duration == 0 {
			end = last.PTS + 1
			if n > 1 {
				end = last.PTS + last.PTS - frames[n-2].PTS
			}
		}

		segs, err := PlanSegments(frames, opt)
		require.NoError(t, err, "case %d", c)
		require.NotEmpty(t, segs, "case %d", c)

		next, count := 0, 0
		for i, s := range segs {
			require.Equal(t, i, s.Index, "case %d seg %d", c, i)
			require.Equal(t, next, s.First, "case %d seg %d: segments must be contiguous", c, i)
			require.Positive(t, s.Count, "case %d seg %d", c, i)
			next += s.Count
			count += s.Count
			require.LessOrEqual(t, next, n, "case %d seg %d", c, i)

			require.Equal(t, frames[s.First].PTS, s.StartPTS, "case %d seg %d", c, i)
			if i+1 < len(segs) {
				require.Equal(t, segs[i+1].StartPTS, s.EndPTS, "case %d seg %d: EndPTS must be the next StartPTS", c, i)
				require.False(t, s.Last, "case %d seg %d", c, i)
				// Cuts are at least Target apart, and at most as far as
				// the slack or one frame past Target.
				require.GreaterOrEqual(t, s.Duration(), opt.Target, "case %d seg %d", c, i)
				require.LessOrEqual(t, s.Duration(), opt.Target+max(slack, maxGap), "case %d seg %d", c, i)
			} else {
				require.Equal(t, end, s.EndPTS, "case %d seg %d: last EndPTS", c, i)
				require.True(t, s.Last, "case %d seg %d", c, i)
				if i > 0 {
					require.GreaterOrEqual(t, s.Duration(), min(minDur, opt.Target), "case %d seg %d: short tail not folded", c, i)
				}
			}

			var bytes int64
			for _, f := range frames[s.First : s.First+s.Count] {
				bytes += f.Size
			}
			require.Equal(t, bytes, s.Bytes, "case %d seg %d", c, i)

			// Independently: the keyframes at or before the first frame.
			key, prev := -1, -1
			for j := 0; j <= s.First; j++ {
				if frames[j].Key {
					prev, key = key, j
				}
			}
			if i == 0 {
				require.Equal(t, NoSeek, s.Seek, "case %d seg 0", c)
				require.Equal(t, NoSeek, s.FallbackSeek, "case %d seg 0", c)
				require.True(t, s.OnKeyframe, "case %d seg 0", c)
				continue
			}
			require.Equal(t, frames[s.First].Key, s.OnKeyframe, "case %d seg %d", c, i)
			if key < 0 {
				require.Equal(t, NoSeek, s.Seek, "case %d seg %d", c, i)
				require.Equal(t, NoSeek, s.FallbackSeek, "case %d seg %d", c, i)
				continue
			}
			require.Equal(t, frames[key].PTS, s.Seek, "case %d seg %d: Seek is the last keyframe at or before the start", c, i)
			require.LessOrEqual(t, s.Seek, s.StartPTS, "case %d seg %d", c, i)
			if prev < 0 {
				require.Equal(t, NoSeek, s.FallbackSeek, "case %d seg %d", c, i)
			} else {
				require.Equal(t, frames[prev].PTS, s.FallbackSeek, "case %d seg %d: FallbackSeek is the keyframe before Seek", c, i)
			}
			// A cut between keyframes means no keyframe came within slack.
			if !s.OnKeyframe {
				for j := s.First; j < n; j++ {
					if frames[j].Key {
						require.Greater(t, frames[j].PTS-segs[i-1].StartPTS, opt.Target+slack,
							"case %d seg %d: cut at frame %d although keyframe %d was within slack", c, i, s.First, j)
						break
					}
				}
			}
		}
		require.Equal(t, n, count, "case %d: segments must cover every frame", c)
	}
}

func TestReseek(t *testing.T) {
	segs := []Segment{{StartPTS: 130}, {StartPTS: 200}, {StartPTS: 250}, {StartPTS: 5}}
	Reseek(segs, []int64{0, 100, 200})
	assert.Equal(t, int64(100), segs[0].Seek, "keyframe before a window that starts mid-GOP")
	assert.Equal(t, int64(0), segs[0].FallbackSeek)
	assert.False(t, segs[0].OnKeyframe)
	assert.Equal(t, int64(200), segs[1].Seek)
	assert.True(t, segs[1].OnKeyframe)
	assert.Equal(t, int64(100), segs[1].FallbackSeek)
	assert.Equal(t, int64(200), segs[2].Seek)
	assert.Equal(t, int64(0), segs[3].Seek)
	assert.Equal(t, NoSeek, segs[3].FallbackSeek)
	none := []Segment{{StartPTS: 5}}
	Reseek(none, []int64{10})
	assert.Equal(t, NoSeek, none[0].Seek, "no keyframe before: decode from the start")
}

// TestPlanSegmentsEven: 60 s at 25 fps with a keyframe every 2 s and a
// target of 13.9 s. Cut every target, the plan is 14, 14, 14 and 18 s, and
// the slot with the 18 s segment finishes last; spread evenly, the same four
// segments are 14, 16, 14 and 16 s, each cut on a keyframe.
func TestPlanSegmentsEven(t *testing.T) {
	const d = 512
	frames := stream(1500, 0, d, every(50))
	greedy, err := PlanSegments(frames, SegmentOptions{Target: 13.9 * 25 * d})
	require.NoError(t, err)
	assert.Equal(t, []int{350, 350, 350, 450}, counts(greedy))

	even, err := PlanSegments(frames, SegmentOptions{Target: 13.9 * 25 * d, Even: true})
	require.NoError(t, err)
	assert.Equal(t, []int{350, 400, 350, 400}, counts(even))
	for _, s := range even {
		assert.True(t, s.OnKeyframe, "segment %d starts on a keyframe", s.Index)
	}

	// One keyframe only: the even positions are cut between keyframes.
	single, err := PlanSegments(stream(1000, 0, d, at(0)), SegmentOptions{Target: 300 * d, Even: true})
	require.NoError(t, err)
	assert.Equal(t, []int{333, 334, 333}, counts(single))
}

// TestPlanSegmentsEvenProperties: on random streams, even cuts make as many
// segments as cutting every target (or fewer, where frames are too few),
// cover every frame, and make the longest segment no longer.
func TestPlanSegmentsEvenProperties(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for c := 0; c < 400; c++ {
		n := 1 + r.Intn(400)
		keyProb := []float64{0, 0.02, 0.1, 0.5, 1}[r.Intn(5)]
		frames := make([]Frame, n)
		var pts int64
		for i := range frames {
			pts += 1 + r.Int63n(3)
			frames[i] = Frame{PTS: pts, Duration: 2, Size: 1, Key: i == 0 || r.Float64() < keyProb}
		}
		opt := SegmentOptions{Target: 1 + r.Int63n(200)}
		greedy, err := PlanSegments(frames, opt)
		require.NoError(t, err)
		opt.Even = true
		even, err := PlanSegments(frames, opt)
		require.NoError(t, err)
		require.LessOrEqual(t, len(even), len(greedy), "case %d", c)
		next := 0
		var longest, longestGreedy int64
		for i, s := range even {
			require.Equal(t, next, s.First, "case %d seg %d: contiguous", c, i)
			require.Positive(t, s.Count, "case %d seg %d", c, i)
			next += s.Count
			longest = max(longest, s.Duration())
		}
		require.Equal(t, n, next, "case %d: every frame", c)
		for _, s := range greedy {
			longestGreedy = max(longestGreedy, s.Duration())
		}
		// An even cut may sit up to Slack/5 off its position, and frames
		// are up to 3 ticks apart.
		assert.LessOrEqual(t, longest, longestGreedy+2*(opt.Target/2)/5+6, "case %d", c)
	}
}

func counts(segs []Segment) []int {
	var out []int
	for _, s := range segs {
		out = append(out, s.Count)
	}
	return out
}

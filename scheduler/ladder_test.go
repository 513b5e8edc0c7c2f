package scheduler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cfr makes n frames of dur ticks from start, a keyframe every gop.
func cfr(n int, start, dur int64, gop int) ([]Frame, []int64) {
	var frames []Frame
	var keys []int64
	for i := 0; i < n; i++ {
		f := Frame{PTS: start + int64(i)*dur, Duration: dur, Size: 10, Key: i%gop == 0}
		if f.Key {
			keys = append(keys, f.PTS)
		}
		frames = append(frames, f)
	}
	return frames, keys
}

func TestPlanLadder(t *testing.T) {
	t.Run("25 fps, 4 s segments, 2 per task", func(t *testing.T) {
		// 12.4 s at 25 fps in 1/12800, keyframes every 48 frames.
		frames, keys := cfr(310, 1000, 512, 48)
		p, err := PlanLadder(frames, keys, 4*12800, 2)
		require.NoError(t, err)
		// The 0.4 s tail joins the last segment.
		assert.Equal(t, []int{0, 100, 200}, p.Starts)
		require.Len(t, p.Tasks, 2)
		assert.Equal(t, 0, p.Tasks[0].First)
		assert.Equal(t, 200, p.Tasks[0].Count)
		assert.Equal(t, NoSeek, p.Tasks[0].Seek)
		assert.Equal(t, []int{100}, p.KeyFrames(0))
		assert.Equal(t, 200, p.Tasks[1].First)
		assert.Equal(t, 110, p.Tasks[1].Count)
		assert.True(t, p.Tasks[1].Last)
		assert.Empty(t, p.KeyFrames(1))
		// Seeks to the keyframe at or before frame 200 (192), and keeps the one before.
		assert.Equal(t, int64(1000+192*512), p.Tasks[1].Seek)
		assert.Equal(t, int64(1000+144*512), p.Tasks[1].FallbackSeek)
		assert.Equal(t, frames[200].PTS, p.Tasks[0].EndPTS)
		assert.Equal(t, frames[309].PTS+512, p.Tasks[1].EndPTS)
		total := 0
		for _, s := range p.Tasks {
			total += s.Count
		}
		assert.Equal(t, len(frames), total)
	})
	t.Run("29.97 fps: a segment starts on the first frame at or after its time", func(t *testing.T) {
		// 1/30000 time base, 1001 ticks a frame; 4 s = 120000 ticks:
		// frame 119 is at 119119 (before), frame 120 at 120120.
		frames, keys := cfr(300, 0, 1001, 250)
		p, err := PlanLadder(frames, keys, 120000, 1)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 120, 240}, p.Starts)
		assert.Len(t, p.Tasks, 3)
		assert.Equal(t, int64(0), p.Tasks[2].Seek, "the only keyframe before frame 240 is frame 0")
	})
	t.Run("a long tail keeps its segment", func(t *testing.T) {
		frames, keys := cfr(260, 0, 512, 25)
		p, err := PlanLadder(frames, keys, 4*12800, 3)
		require.NoError(t, err)
		assert.Equal(t, []int{0, 100, 200}, p.Starts)
		require.Len(t, p.Tasks, 1)
		assert.Equal(t, []int{100, 200}, p.KeyFrames(0))
	})
	t.Run("a gap in the timestamps skips the boundaries inside it", func(t *testing.T) {
		frames, keys := cfr(200, 0, 512, 25)
		for i := 100; i < 200; i++ {
			frames[i].PTS += 10 * 12800 // 10 s of nothing
		}
		p, err := PlanLadder(frames, keys, 4*12800, 1)
		require.NoError(t, err)
		// 4 and 8 and 12 s fall in the gap: the frame after it starts one
		// segment, and the next starts at 16 s.
		assert.Equal(t, []int{0, 100, 150}, p.Starts)
	})
	t.Run("errors", func(t *testing.T) {
		_, err := PlanLadder(nil, nil, 1, 1)
		assert.ErrorIs(t, err, ErrNoFrames)
		frames, keys := cfr(10, 0, 512, 5)
		_, err = PlanLadder(frames, keys, 0, 1)
		assert.Error(t, err)
		frames[3].PTS = frames[2].PTS
		_, err = PlanLadder(frames, keys, 512, 1)
		assert.Error(t, err)
	})
}

func TestTimeGrid(t *testing.T) {
	frames, _ := cfr(100, 500, 512, 25) // 25 fps in 1/12800 from 500
	assert.Equal(t, []int{0, 50}, TimeGrid(frames, 2*12800))
	assert.Equal(t, []int{0, 13, 25, 38, 50, 63, 75, 88}, TimeGrid(frames, 6400), "0.5 s: the first frame at or after each")
	assert.Nil(t, TimeGrid(nil, 1))
	assert.Nil(t, TimeGrid(frames, 0))
}

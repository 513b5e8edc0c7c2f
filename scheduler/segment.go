package scheduler

import (
	"errors"
	"fmt"
	"sort"
)

// NoSeek as a segment's Seek means: decode from the start of the file.
const NoSeek = int64(-1 << 63)

// ErrNoFrames is returned when there is nothing to plan.
var ErrNoFrames = errors.New("no video frames")

// Frame is one video frame in presentation order, as the demuxer reports its
// packet: timestamps in the stream's time base.
type Frame struct {
	PTS      int64
	Duration int64
	Size     int64 // compressed bytes
	Key      bool
}

// SegmentOptions steers where segments are cut. Durations are in ticks of
// the stream's time base.
type SegmentOptions struct {
	// Target is the wanted length of a segment.
	Target int64
	// Min is the shortest segment worth a task of its own; a shorter tail is
	// folded into the segment before it. Zero means Target/2.
	Min int64
	// Slack is how far past Target a cut may wait for a keyframe before it
	// cuts between keyframes instead. Zero means Target/2.
	Slack int64
	// Even keeps the number of segments that Target gives but spreads the
	// cuts evenly over the stream: each at the keyframe nearest its even
	// position when one is within Slack/5 of it, else at the frame there.
	// Cutting every Target and leaving the remainder to the last segment
	// makes one segment up to half a Target longer than the others, and the
	// slot that runs it finishes last.
	Even bool
}

// Segment is a run of consecutive frames [First, First+Count) encoded as one
// task. A segment is independent: it decodes from Seek (a keyframe at or
// before its first frame) and keeps exactly the frames whose timestamps fall
// in [StartPTS, EndPTS), so a join never loses or repeats a frame even in
// open-GOP or B-frame streams, and a cut may fall between keyframes.
type Segment struct {
	Index    int
	First    int
	Count    int
	StartPTS int64
	// EndPTS is the timestamp of the next segment's first frame; for the last
	// segment it is the end of the last frame.
	EndPTS int64
	Last   bool
	// Seek is the keyframe to start decoding at (NoSeek: the file's start);
	// FallbackSeek is the keyframe before it, for a retry when the demuxer's
	// seek landed late.
	Seek         int64
	FallbackSeek int64
	// OnKeyframe reports whether the segment starts on a keyframe, so that
	// nothing before StartPTS has to be decoded.
	OnKeyframe bool
	Bytes      int64
}

// evenCuts are the first frames of n segments of frames of about equal
// length: each cut is at the keyframe nearest its even position when one is
// within tol ticks of it, else at the frame nearest that position. nextKey
// is PlanSegments' index of the next keyframe.
func evenCuts(frames []Frame, nextKey []int, n int, tol int64) []int {
	start, span := frames[0].PTS, endOf(frames)-frames[0].PTS
	cuts := []int{0}
	prevKey := -1 // the last keyframe before the frame looked at
	for k := 1; k < n; k++ {
		at := start + int64(float64(span)*float64(k)/float64(n))
		i := sort.Search(len(frames), func(j int) bool { return frames[j].PTS >= at })
		if i > 0 && at-frames[i-1].PTS < frames[min(i, len(frames)-1)].PTS-at {
			i-- // the frame before is nearer
		}
		for j := max(prevKey, cuts[len(cuts)-1]); j < i; j++ {
			if frames[j].Key {
				prevKey = j
			}
		}
		best, dist := i, int64(-1)
		for _, c := range []int{prevKey, nextKey[i]} {
			if c <= cuts[len(cuts)-1] || c >= len(frames) {
				continue
			}
			d := frames[c].PTS - at
			if d < 0 {
				d = -d
			}
			if d <= tol && (dist < 0 || d < dist) {
				best, dist = c, d
			}
		}
		if best <= cuts[len(cuts)-1] || best >= len(frames) {
			continue // too many segments for so few frames
		}
		cuts = append(cuts, best)
	}
	return cuts
}

// Duration is the segment's length in ticks.
func (s Segment) Duration() int64 { return s.EndPTS - s.StartPTS }

// PlanSegments cuts frames (sorted by PTS, strictly increasing) into
// segments of about opt.Target ticks. It cuts at a keyframe when one comes
// within opt.Slack past the target, and between keyframes otherwise, so that
// a stream with one keyframe in minutes still splits, frame-exactly.
func PlanSegments(frames []Frame, opt SegmentOptions) ([]Segment, error) {
	if len(frames) == 0 {
		return nil, ErrNoFrames
	}
	if opt.Target <= 0 {
		return nil, fmt.Errorf("segment target must be positive, got %d", opt.Target)
	}
	if opt.Min <= 0 {
		opt.Min = opt.Target / 2
	}
	if opt.Slack <= 0 {
		opt.Slack = opt.Target / 2
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].PTS <= frames[i-1].PTS {
			return nil, fmt.Errorf("frame %d: timestamp %d does not follow %d: timestamps must strictly increase", i, frames[i].PTS, frames[i-1].PTS)
		}
	}

	// nextKey[i] is the first keyframe at or after i (len(frames) if none).
	nextKey := make([]int, len(frames)+1)
	nextKey[len(frames)] = len(frames)
	for i := len(frames) - 1; i >= 0; i-- {
		nextKey[i] = nextKey[i+1]
		if frames[i].Key {
			nextKey[i] = i
		}
	}

	cuts := []int{0}
	start := 0
	for i := 1; i < len(frames); i++ {
		if frames[i].PTS-frames[start].PTS < opt.Target {
			continue
		}
		if !frames[i].Key {
			k := nextKey[i]
			if k < len(frames) && frames[k].PTS-frames[start].PTS <= opt.Target+opt.Slack {
				continue // a keyframe comes soon enough: cut there
			}
		}
		cuts = append(cuts, i)
		start = i
	}
	end := endOf(frames)
	if n := len(cuts); n > 1 && end-frames[cuts[n-1]].PTS < opt.Min {
		cuts = cuts[:n-1]
	}

	if opt.Even && len(cuts) > 1 {
		cuts = evenCuts(frames, nextKey, len(cuts), opt.Slack/5)
	}

	segs := make([]Segment, len(cuts))
	lastKey := -1 // last keyframe index seen so far
	prevKey := -1 // the keyframe before lastKey
	k := 0
	for n, first := range cuts {
		next := len(frames)
		if n+1 < len(cuts) {
			next = cuts[n+1]
		}
		for ; k <= first; k++ {
			if frames[k].Key {
				prevKey, lastKey = lastKey, k
			}
		}
		s := Segment{
			Index:        n,
			First:        first,
			Count:        next - first,
			StartPTS:     frames[first].PTS,
			Last:         next == len(frames),
			Seek:         NoSeek,
			FallbackSeek: NoSeek,
		}
		if s.Last {
			s.EndPTS = end
		} else {
			s.EndPTS = frames[next].PTS
		}
		if n > 0 && lastKey >= 0 {
			s.Seek = frames[lastKey].PTS
			if prevKey >= 0 {
				s.FallbackSeek = frames[prevKey].PTS
			}
		}
		s.OnKeyframe = frames[first].Key || n == 0
		for _, f := range frames[first:next] {
			s.Bytes += f.Size
		}
		segs[n] = s
	}
	return segs, nil
}

// endOf is the end of the last frame; a frame without a duration is given
// the previous frame's spacing.
func endOf(frames []Frame) int64 {
	last := frames[len(frames)-1]
	d := last.Duration
	if d <= 0 && len(frames) > 1 {
		d = last.PTS - frames[len(frames)-2].PTS
	}
	if d <= 0 {
		d = 1
	}
	return last.PTS + d
}

// Reseek sets every segment's Seek and FallbackSeek from keys, the sorted
// timestamps of every keyframe of the stream: needed when the frames planned
// are a window of the stream (-ss/-t), whose keyframes may lie before it.
func Reseek(segs []Segment, keys []int64) {
	for i := range segs {
		s := &segs[i]
		j := sort.Search(len(keys), func(k int) bool { return keys[k] > s.StartPTS }) - 1
		s.Seek, s.FallbackSeek = NoSeek, NoSeek
		if j >= 0 {
			s.Seek = keys[j]
		}
		if j >= 1 {
			s.FallbackSeek = keys[j-1]
		}
		s.OnKeyframe = j >= 0 && keys[j] == s.StartPTS
	}
}

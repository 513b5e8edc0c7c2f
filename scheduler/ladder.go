package scheduler

import (
	"fmt"
	"sort"
)

// LadderPlan is where a ladder's packaged segments start and how they are
// grouped into encode tasks.
type LadderPlan struct {
	// Starts are the frame indexes at which packaged segments start: the
	// first frame at or after each multiple of the packaged length from the
	// first frame. Every rung gets a keyframe on each.
	Starts []int
	// Tasks are the encode tasks; each starts on one of Starts and holds
	// whole packaged segments, so that a task's first frame (a keyframe in
	// every encode) is never an extra cut.
	Tasks []Segment
}

// KeyFrames returns the packaged-segment starts inside task t after its
// first frame, as frame indexes.
func (p LadderPlan) KeyFrames(t int) []int {
	s := p.Tasks[t]
	var out []int
	for _, f := range p.Starts {
		if f > s.First && f < s.First+s.Count {
			out = append(out, f)
		}
	}
	return out
}

// PlanLadder cuts frames (sorted, strictly increasing PTS) into packaged
// segments of target ticks and groups perTask of them into each task. A
// last packaged segment shorter than half the target joins the one before.
// keys are every keyframe's PTS, sorted: a task seeks to the last one at or
// before its first frame.
func PlanLadder(frames []Frame, keys []int64, target int64, perTask int) (LadderPlan, error) {
	if len(frames) == 0 {
		return LadderPlan{}, ErrNoFrames
	}
	if target <= 0 || perTask <= 0 {
		return LadderPlan{}, fmt.Errorf("packaged segment length %d and segments per task %d must be positive", target, perTask)
	}
	for i := 1; i < len(frames); i++ {
		if frames[i].PTS <= frames[i-1].PTS {
			return LadderPlan{}, fmt.Errorf("frame %d: timestamp %d does not follow %d: timestamps must strictly increase", i, frames[i].PTS, frames[i-1].PTS)
		}
	}
	p := LadderPlan{Starts: TimeGrid(frames, target)}
	end := endOf(frames)
	if n := len(p.Starts); n > 1 && end-frames[p.Starts[n-1]].PTS < target/2 {
		p.Starts = p.Starts[:n-1]
	}
	for k := 0; k < len(p.Starts); k += perTask {
		first := p.Starts[k]
		last := len(frames)
		if k+perTask < len(p.Starts) {
			last = p.Starts[k+perTask]
		}
		s := Segment{
			Index:        len(p.Tasks),
			First:        first,
			Count:        last - first,
			StartPTS:     frames[first].PTS,
			Last:         last == len(frames),
			Seek:         NoSeek,
			FallbackSeek: NoSeek,
			OnKeyframe:   frames[first].Key || first == 0,
		}
		if s.Last {
			s.EndPTS = end
		} else {
			s.EndPTS = frames[last].PTS
		}
		if first > 0 {
			j := sort.Search(len(keys), func(i int) bool { return keys[i] > s.StartPTS }) - 1
			if j >= 0 {
				s.Seek = keys[j]
			}
			if j >= 1 {
				s.FallbackSeek = keys[j-1]
			}
		}
		for _, f := range frames[first:last] {
			s.Bytes += f.Size
		}
		p.Tasks = append(p.Tasks, s)
	}
	return p, nil
}

// TimeGrid returns, for every multiple of step from the first frame's
// time, the first frame at or after it (a frame that is first for several,
// after a gap, once): where packaged segments start, or which frames
// become thumbnails. frames must be sorted; step positive.
func TimeGrid(frames []Frame, step int64) []int {
	if len(frames) == 0 || step <= 0 {
		return nil
	}
	out := []int{0}
	base := frames[0].PTS
	next := step
	for i, f := range frames {
		if f.PTS-base >= next {
			out = append(out, i)
			for next <= f.PTS-base {
				next += step
			}
		}
	}
	return out
}

package scheduler

import (
	"math"
	"time"
)

// SizingModel chooses how long segments should be.
//
// A job of D seconds of video, encoded at r seconds of work per second of
// video on one slot, cut into K segments over P slots, takes about
//
//	T(K) = D*r/P                  the work itself
//	     + (K/P)*s                each slot pays start-up s per task it runs
//	     + (P-1)/P * D*r/(2*K)    the tail: on average half a segment runs
//	                              alone while the other P-1 slots idle
//
// T is smallest at K* = sqrt((P-1)*D*r / (2*s)): too many small segments
// pay start-up each time, too few cannot balance (the Hadoop design's sweet
// spot). The segment length is D/K*, kept between Min and Max, and short
// enough that there are at least 2 segments per slot to balance with. One
// slot has no tail to balance: every cut only adds a task's start-up (a
// container, an encoder's restart), so it gets one segment, up to Max.
type SizingModel struct {
	Startup time.Duration // per-task start-up (Swarm service ~1.5 s, local process ~0.2 s)
	// Realtime is r, seconds of encoding work per second of video on one
	// slot (1 when unknown; `dswarm bench` fps gives it for a codec).
	Realtime float64
	Min, Max time.Duration
}

// SegmentDuration returns the segment length for a job of the given video
// duration over slots parallel slots.
func (m SizingModel) SegmentDuration(video time.Duration, slots int) time.Duration {
	if m.Realtime <= 0 {
		m.Realtime = 1
	}
	if m.Min <= 0 {
		m.Min = 2 * time.Second
	}
	if m.Max <= 0 {
		m.Max = 120 * time.Second
	}
	p := float64(max(slots, 1))
	d := video.Seconds()
	s := math.Max(m.Startup.Seconds(), 0.01)
	k := 1.0
	if p > 1 {
		k = math.Sqrt((p - 1) * d * m.Realtime / (2 * s))
		k = math.Max(k, 2*p) // at least two segments per slot
	}
	seg := time.Duration(d / k * float64(time.Second))
	return min(max(seg, m.Min), m.Max)
}

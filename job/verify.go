package job

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/dswarm/dswarm/media"
)

// Tolerances of the final check.
const (
	audioTolerance = 0.050 // seconds, for audio length and sync
)

// StreamFacts is what the check needs of one stream of a file.
type StreamFacts struct {
	Start    float64 // seconds
	Duration float64 // seconds
	Packets  int
}

// Facts are the measured properties of a source or an output file.
type Facts struct {
	Video StreamFacts
	// VideoPTS are the output's video timestamps in seconds, sorted; only
	// needed for the output, to tell which segment a mismatch came from.
	VideoPTS []float64
	Audio    []StreamFacts
}

// Expect is what the output must match.
type Expect struct {
	Frames int
	// SegmentStarts are the segments' first-frame times relative to the
	// first frame, and SegmentFrames their planned frame counts.
	SegmentStarts []float64
	SegmentFrames []int
	FrameDuration float64 // the source's mean frame duration
}

// Check compares the output with the source: every frame once (count, and
// per segment), video length within one frame, audio length and start within
// 50 ms. The error names the segment responsible where one is.
func Check(src, out Facts, exp Expect) ([]AudioCheck, error) {
	if out.Video.Packets != exp.Frames {
		if seg, got, want, ok := blameSegment(out.VideoPTS, exp); ok {
			return nil, fmt.Errorf("output has %d video frames, source %d: segment %d has %d frames in the output, planned %d", out.Video.Packets, exp.Frames, seg, got, want)
		}
		return nil, fmt.Errorf("output has %d video frames, source %d", out.Video.Packets, exp.Frames)
	}
	if d := math.Abs(out.Video.Duration - src.Video.Duration); d > exp.FrameDuration*1.01 {
		return nil, fmt.Errorf("output video lasts %.3fs, source %.3fs: off by more than one frame (%.3fs)", out.Video.Duration, src.Video.Duration, exp.FrameDuration)
	}
	if len(out.Audio) != len(src.Audio) {
		return nil, fmt.Errorf("output has %d audio streams, source %d", len(out.Audio), len(src.Audio))
	}
	checks := make([]AudioCheck, len(src.Audio))
	for i, a := range src.Audio {
		o := out.Audio[i]
		c := AudioCheck{
			SourceDuration: a.Duration, OutputDuration: o.Duration,
			SourceOffset: a.Start - src.Video.Start, OutputOffset: o.Start - out.Video.Start,
		}
		checks[i] = c
		if math.Abs(c.OutputDuration-c.SourceDuration) > audioTolerance {
			return nil, fmt.Errorf("audio stream %d lasts %.3fs in the output, %.3fs in the source: off by more than 50 ms", i, c.OutputDuration, c.SourceDuration)
		}
		if math.Abs(c.OutputOffset-c.SourceOffset) > audioTolerance {
			return nil, fmt.Errorf("audio stream %d starts %.3fs from the video in the output, %.3fs in the source: out of sync by more than 50 ms", i, c.OutputOffset, c.SourceOffset)
		}
	}
	return checks, nil
}

// blameSegment finds the first segment whose span of output timestamps does
// not hold its planned number of frames.
func blameSegment(pts []float64, exp Expect) (seg, got, want int, ok bool) {
	if len(pts) == 0 || len(exp.SegmentStarts) == 0 {
		return 0, 0, 0, false
	}
	base := pts[0]
	half := exp.FrameDuration / 2
	for i, start := range exp.SegmentStarts {
		lo := start - half
		hi := math.Inf(1)
		if i+1 < len(exp.SegmentStarts) {
			hi = exp.SegmentStarts[i+1] - half
		}
		n := sort.SearchFloat64s(pts, base+hi) - sort.SearchFloat64s(pts, base+lo)
		if n != exp.SegmentFrames[i] {
			return i, n, exp.SegmentFrames[i], true
		}
	}
	return 0, 0, 0, false
}

// factsOf turns a probe and its packets into Facts.
func factsOf(info *media.Info, ext map[int]media.Extent, pts []float64) (Facts, error) {
	v, err := info.Video()
	if err != nil {
		return Facts{}, err
	}
	e := ext[v.Index]
	f := Facts{
		Video:    StreamFacts{Start: v.TimeBase.Seconds(e.Start), Duration: e.Seconds(v.TimeBase), Packets: e.Packets},
		VideoPTS: pts,
	}
	for _, a := range info.Audio() {
		ae := ext[a.Index]
		f.Audio = append(f.Audio, StreamFacts{Start: a.TimeBase.Seconds(ae.Start), Duration: ae.Seconds(a.TimeBase), Packets: ae.Packets})
	}
	return f, nil
}

// verify measures the partial output against the source before it is moved
// into place.
func (r *run) verify(ctx context.Context) (*Summary, error) {
	r.setPhase("verify")
	info, err := media.Probe(ctx, r.partial)
	if err != nil {
		return nil, fmt.Errorf("verify output: %w", err)
	}
	ov, err := info.Video()
	if err != nil {
		return nil, fmt.Errorf("verify output: %w", err)
	}
	pkts, err := media.ReadPackets(ctx, r.partial, "")
	if err != nil {
		return nil, fmt.Errorf("verify output: %w", err)
	}
	var pts []float64
	for _, p := range pkts {
		if p.Stream == ov.Index && !p.Discard && p.PTS != media.NoPTS {
			pts = append(pts, ov.TimeBase.Seconds(p.PTS))
		}
	}
	sort.Float64s(pts)
	out, err := factsOf(info, media.Extents(pkts), pts)
	if err != nil {
		return nil, fmt.Errorf("verify output: %w", err)
	}
	src, err := factsOf(r.src.info, r.src.extents, nil)
	if err != nil {
		return nil, err
	}
	if r.opts.NoAudio {
		src.Audio = nil
	}
	if t := r.opts.Trim; t.Set {
		// Only the part of each audio stream inside the window is expected.
		lo, hi := r.src.info.StartTime+t.Start, r.src.info.StartTime+t.End
		for i, a := range src.Audio {
			start, end := math.Max(a.Start, lo), math.Min(a.Start+a.Duration, hi)
			src.Audio[i] = StreamFacts{Start: start, Duration: math.Max(end-start, 0), Packets: a.Packets}
		}
	}
	// The source's video extent comes from the output plan: its frames
	// (which skip packets the decoder discards), or the slots of -r.
	p := r.out
	first, end := p.Spans[0].TrimStart, p.Spans[len(p.Spans)-1].TrimEnd
	dur := p.TimeBase.Seconds(end - first)
	src.Video = StreamFacts{Start: r.src.video.TimeBase.Seconds(r.segs[0].StartPTS), Duration: dur, Packets: p.Frames()}
	exp := Expect{Frames: p.Frames(), FrameDuration: dur / float64(p.Frames())}
	for _, s := range p.Spans {
		exp.SegmentStarts = append(exp.SegmentStarts, p.seconds(s.TrimStart))
		exp.SegmentFrames = append(exp.SegmentFrames, s.Frames)
	}
	audio, err := Check(src, out, exp)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", r.cfg.Output, err)
	}
	// Every segment after the first starts at a join of independently
	// encoded streams: it must decode as cleanly as the first.
	var joins []float64
	frames := 0
	for _, s := range p.Spans[:len(p.Spans)-1] {
		if frames += s.Frames; frames < len(pts) {
			joins = append(joins, pts[frames])
		}
	}
	if err := media.CheckJoins(ctx, r.partial, joins, ov.Codec); err != nil {
		return nil, fmt.Errorf("verify %s: %w", r.cfg.Output, err)
	}
	return &Summary{
		JobID:          r.id,
		Executor:       r.exec.Name(),
		Input:          firstNonEmpty(r.userInput, r.cfg.Input),
		Output:         r.cfg.Output,
		VideoCodec:     r.videoCodec,
		AudioCodec:     r.audioCodec,
		Segments:       len(r.segs),
		SegmentSeconds: r.cfg.SegmentDuration.Seconds(),
		SourceFrames:   len(r.src.frames),
		ExpectedFrames: p.Frames(),
		FrameRate:      r.opts.FrameRate,
		OutputFrames:   out.Video.Packets,
		SourceDuration: src.Video.Duration,
		OutputDuration: out.Video.Duration,
		Audio:          audio,
		SegmentTimings: r.segResults,
		Bitrate:        r.bitrateSummary(),
		AudioTask:      r.audioResult,
		MergeTask:      r.mergeResult,
	}, nil
}

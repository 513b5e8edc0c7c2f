package job

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// repairTimeline makes an input whose video timestamps break plannable, as
// ffmpeg transcodes it. An MPEG-TS capture spliced at an ad break repeats
// its timestamps; a clock that jumped leaves a hole. ffmpeg, reading MPEG-TS
// or MPEG-PS without -copyts, shifts the timeline at each break so that it
// continues, and so keeps every frame in decode order. A stream copy through
// ffmpeg makes exactly that repair, so the job reads such a copy (in its temp
// folder, where every task can read it) instead of the input. Other formats,
// which ffmpeg does not repair, keep their timestamps; frames that share one
// are refused with the time they are at.
func (r *run) repairTimeline(ctx context.Context, src *source) (*source, error) {
	if len(src.breaks) == 0 || !media.RepairsTimestamps(src.info.FormatName) {
		return src, checkRepeats(r.cfg.Input, src)
	}
	first := src.breaks[0]
	path := filepath.Join(r.temp, "timeline.ts")
	args := []string{"-y", "-i", r.cfg.Input,
		"-map", "0:v", "-map", "0:a?", "-map", "0:s?", "-c", "copy", "-f", "mpegts", path}
	if err := media.RunFFmpeg(ctx, args, nil); err != nil {
		return nil, fmt.Errorf("input %s: its video timestamps break at %s; repairing them as ffmpeg does failed: %w", r.cfg.Input, src.at(first.Expected), lastLine(err))
	}
	fixed, err := probeSource(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("input %s: its video timestamps break at %s; the repaired copy: %w", r.cfg.Input, src.at(first.Expected), err)
	}
	if len(fixed.breaks) > 0 || len(fixed.frames) != len(src.frames) {
		return nil, fmt.Errorf("input %s: its video timestamps break at %s and a stream copy does not repair them (%d breaks, %d of %d frames left)", r.cfg.Input, src.at(first.Expected), len(fixed.breaks), len(fixed.frames), len(src.frames))
	}
	r.warnf("input %s: video timestamps break %d time(s), first at %s (splice?); frames are kept in decode order, as ffmpeg keeps them", r.cfg.Input, len(src.breaks), src.at(first.Expected))
	r.userInput, r.cfg.Input = r.cfg.Input, path
	return fixed, checkRepeats(r.cfg.Input, fixed)
}

// checkRepeats refuses frames that share a timestamp: no order of them is
// the order a player or ffmpeg shows them in.
func checkRepeats(input string, src *source) error {
	f := src.frames // sorted by pts
	for i := 1; i < len(f); i++ {
		if f[i].PTS == f[i-1].PTS {
			return fmt.Errorf("input %s: two video frames have the timestamp %s (a damaged or badly spliced file): dswarm cannot tell which comes first", input, src.at(f[i].PTS))
		}
	}
	return nil
}

// at formats a video timestamp as the time from the input's start.
func (s *source) at(pts int64) string {
	return fmt.Sprintf("%.3fs", s.video.TimeBase.Seconds(pts)-s.info.StartTime)
}

// damaged is the error for a segment whose frames do not all decode, the
// same ones on every try: the input is damaged there. ffmpeg loses such
// frames too, but dswarm cannot tell that a whole-file decode loses
// exactly the same ones, so it stops rather than give other frames.
func (r *run) damaged(seg scheduler.Segment, got, want int) error {
	input := firstNonEmpty(r.userInput, r.cfg.Input)
	return fmt.Errorf("input %s is damaged between %s and %s: %d of its %d frames there do not decode; dswarm stops rather than output other frames than ffmpeg", input, r.src.at(seg.StartPTS), r.src.at(seg.EndPTS), want-got, want)
}

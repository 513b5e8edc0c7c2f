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
	if !media.RepairsTimestamps(src.info.FormatName) {
		return src, checkRepeats(r.cfg.Input, src)
	}
	if err := r.checkCorrupt(ctx, src); err != nil {
		return nil, err
	}
	if len(src.breaks) == 0 {
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

// undecodable accepts that a segment yields got of its want frames when
// decodes from its keyframe, the one before and the file's start all lost
// the same number: those frames do not decode (an MPEG-2 sequence that
// changes at a splice drops its last frame; a frame with a broken header),
// and a whole-file ffmpeg, which decodes as the last try did, loses them
// too. Damage that the decoder conceals instead is refused before this
// (checkCorrupt, decodeDamage). The output plan expects got from then on.
func (r *run) undecodable(seg scheduler.Segment, got, want int) int {
	r.mu.Lock()
	r.out.Spans[seg.Index].Frames = got
	r.status.Frames -= int64(want - got)
	r.mu.Unlock()
	r.warnf("input %s: %d of the %d frames between %s and %s do not decode; the output lacks them, as single-pass ffmpeg's does", firstNonEmpty(r.userInput, r.cfg.Input), want-got, want, r.src.at(seg.StartPTS), r.src.at(seg.EndPTS))
	return got
}

// damagedLog is the error for a segment whose decoder met damaged data and
// concealed it: the frames it made up depend on what was decoded before,
// which differs between a segment and a whole-file decode, so dswarm stops
// rather than give other frames than ffmpeg.
func (r *run) damagedLog(seg scheduler.Segment, line string) error {
	input := firstNonEmpty(r.userInput, r.cfg.Input)
	from := seg.StartPTS
	if seg.Seek != scheduler.NoSeek {
		from = seg.Seek // decoded from there
	}
	return fmt.Errorf("input %s is damaged between %s and %s (%s); dswarm stops rather than output other frames than ffmpeg", input, r.src.at(from), r.src.at(seg.EndPTS), line)
}

// checkCorrupt refuses an MPEG-TS/PS input whose video packets the demuxer
// flags as corrupt (a capture that lost data): the decoder conceals such
// damage from the frames before it, which a segment that starts after a
// keyframe does not have, so its frames would differ from ffmpeg's. A
// packet in the first GOP is decoded alike by both (both start there); the
// last packet before a keyframe or a timestamp break is where a splice
// restarts the continuity counters, and damage there stays inside a GOP
// that both decode from the same keyframe.
func (r *run) checkCorrupt(ctx context.Context, src *source) error {
	corrupt, err := media.ReadCorrupt(ctx, r.cfg.Input, src.video.Index)
	if err != nil {
		return fmt.Errorf("input %s: %w", r.cfg.Input, err)
	}
	splice := map[int64]bool{}
	for _, b := range src.breaks {
		splice[b.Last], splice[b.DTS] = true, true
	}
	for _, c := range corrupt {
		if splice[c.DTS] || src.gopEnds[c.DTS] || (len(src.keys) > 1 && c.DTS != media.NoPTS && c.DTS < src.keys[1]) {
			continue
		}
		at := "an unknown time"
		if c.DTS != media.NoPTS {
			at = src.at(c.DTS)
		}
		return fmt.Errorf("input %s is damaged at %s: the demuxer flags video data there as corrupt (lost packets); dswarm stops rather than output other frames than ffmpeg", r.cfg.Input, at)
	}
	return nil
}

// decodeDamage is the line in which a segment's decoder reported damaged
// data, or "". A segment that decodes from the file's start decodes as a
// whole-file ffmpeg does, damage and all; MPEG-TS/PS seek to a point before
// the keyframe, and the frames decoded before it (never kept) make the same
// complaints as damage, so there only the demuxer's flags count
// (checkCorrupt).
func (r *run) decodeDamage(seg scheduler.Segment, lines []string) string {
	if seg.Seek == scheduler.NoSeek || media.RepairsTimestamps(r.src.info.FormatName) {
		return ""
	}
	return media.DamageReport(lines)
}

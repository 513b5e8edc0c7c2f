package job

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/dswarm/dswarm/media"
)

// merge joins the segments (stream copy) with the audio and the source's
// subtitles and metadata into the partial output file. It runs here, in
// the job's sandbox, not as a task: it only copies packets (0.1-0.3 s for
// a minute of 720p), and as a task on the swarm it cost a container on
// the node that ran the last segment, started while that segment still
// encoded on the same CPUs, and the time from its service's creation to
// its exit file (0.3 s with a standby up, 0.9-1.7 s for a short job).
// The price is its I/O here: it reads the segments and writes the output
// through this machine's view of the storage, as the verification then
// reads the output anyway.
func (r *run) merge(ctx context.Context) error {
	r.setPhase("merge")
	tb := r.out.TimeBase
	first := r.out.Spans[0].TrimStart
	entries := make([]media.ConcatEntry, len(r.segs))
	for i, s := range r.out.Spans {
		// Relative to the list, which sits beside the segments: the merge
		// may run where the storage has another path.
		entries[i] = media.ConcatEntry{Path: filepath.Base(r.segmentPath(i))}
		if i+1 < len(r.out.Spans) {
			// Durations from rounded absolute times, so rounding never
			// accumulates along the joins.
			entries[i].Duration = media.FormatMicros(tb.Micros(s.TrimEnd-first) - tb.Micros(s.TrimStart-first))
		}
	}
	list := filepath.Join(r.temp, "segments.ffconcat")
	if err := os.WriteFile(list, []byte(media.ConcatList(entries)), 0o644); err != nil {
		return fmt.Errorf("write concat list: %w", unwrapPath(err))
	}
	// The audio task's timestamps start at the file's start time, like
	// ffmpeg's own; offset the video by as much as its first frame comes
	// after that, so that sync is kept when audio starts before video.
	offset := r.out.TimeBase.Micros(first) - int64(r.src.info.StartTime*1e6+0.5)
	if r.opts.Trim.Set {
		// The audio and the source's subtitles start at -ss.
		offset -= int64(r.opts.Trim.Start*1e6 + 0.5)
	}
	cmd := media.MergeCommand{
		List:        list,
		VideoOffset: media.FormatMicros(max(offset, 0)),
		Source:      r.cfg.Input,
		SourceInput: r.trimArgs(),
		Subtitles:   r.subtitles,
		SubCodecs:   r.subCodecs,
		Video:       r.videoParams,
		Options:     r.opts.Global,
		Output:      r.partial,
	}
	if r.audioFile != "" {
		cmd.Audio = r.audioFile
	}
	cmd.Dispositions, cmd.Attachments = r.outputStreams()
	chapters, err := r.trimmedChapters()
	if err != nil {
		return err
	}
	cmd.Chapters = chapters
	began := time.Now()
	if _, err := r.sandbox.FFmpeg(ctx, cmd.Args(), nil); err != nil {
		if full := diskFull(filepath.Dir(r.partial)); full != nil {
			return fmt.Errorf("merge: %w", full)
		}
		return fmt.Errorf("merge: %w", err)
	}
	host, _ := os.Hostname()
	r.mergeResult = &TaskSummary{Node: host, Seconds: time.Since(began).Seconds(), Began: r.since(began), Attempts: 1}
	return nil
}

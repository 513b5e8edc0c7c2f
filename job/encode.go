package job

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// maxAttempts is how often a task (segment, audio, analysis) is tried before
// the job fails: the first attempt and up to 3 retries, each on another node
// while there is one that has not failed it.
const maxAttempts = 4

func (r *run) segmentPath(i int) string {
	return filepath.Join(r.temp, fmt.Sprintf("seg-%05d.nut", i))
}

// encode runs the audio task and every segment in parallel, at most
// cfg.Workers segments at once; with a bitrate target, every segment is
// analysed first (twopass.go). The first failure cancels the rest.
func (r *run) encode(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	r.framesDone = make([]atomic.Int64, len(r.segs))
	r.segResults = make([]SegmentSummary, len(r.segs))
	r.tries = make([]int, len(r.segs))
	r.mu.Lock()
	r.status = Status{Phase: "encode", Segments: len(r.segs), Frames: int64(r.out.Frames())}
	r.mu.Unlock()

	var wg sync.WaitGroup
	audioErr := make(chan error, 1)
	if len(r.src.info.Audio()) > 0 && !r.opts.NoAudio {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.encodeAudio(ctx); err != nil {
				audioErr <- err
				cancel()
			}
		}()
	}
	ticker := time.NewTicker(500 * time.Millisecond)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ticker.C:
				r.report()
			case <-done:
				return
			}
		}
	}()
	var err error
	if r.rate != nil && !r.rate.onePass {
		err = r.analyse(ctx)
	}
	if err == nil {
		err = r.eachSegment(ctx, r.encodeSegment)
	}
	if err == nil {
		err = r.correctRate(ctx)
	}
	if err != nil {
		cancel()
	}
	wg.Wait()
	ticker.Stop()
	close(done)
	close(audioErr)
	if aerr := <-audioErr; aerr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return aerr
	}
	if err != nil {
		return err
	}
	return ctx.Err()
}

// eachSegment runs fn for every segment, on at most r.workers at once.
// The first error cancels the others and is returned.
func (r *run) eachSegment(ctx context.Context, fn func(ctx context.Context, i int) error) error {
	all := make([]int, len(r.segs))
	for i := range all {
		all[i] = i
	}
	return r.eachOf(ctx, all, fn)
}

// eachOf runs fn for the segments in list, as eachSegment does.
func (r *run) eachOf(ctx context.Context, list []int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(list))
	queue := make(chan int)
	for w := 0; w < min(r.workers, len(list)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range queue {
				if err := fn(ctx, i); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
feed:
	for _, i := range list {
		select {
		case queue <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

func (r *run) encodeAudio(ctx context.Context) error {
	r.audioFile = filepath.Join(r.temp, "audio.nut")
	if r.reused[-1] {
		r.event(SegmentEvent{Index: -1, State: "done", Reused: true})
		return nil
	}
	r.event(SegmentEvent{Index: -1, State: "running"})
	opts := append(r.trimArgs(), r.opts.Audio...)
	if r.audioCodec != "" {
		opts = append([]string{"-c:a", r.audioCodec}, opts...)
	}
	cmd := media.AudioCommand{Input: r.cfg.Input, Options: opts, Output: r.audioFile}
	res, err := r.runWithRetry(ctx, Task{JobID: r.id, Name: "audio", Role: RoleAudio, Segment: -1, Args: cmd.Args()})
	if err != nil {
		r.event(SegmentEvent{Index: -1, State: "failed", Node: res.Node, Attempt: res.attempts, Error: err.Error()})
		return fmt.Errorf("audio: %w", err)
	}
	r.audioResult = &TaskSummary{Node: res.Node, Seconds: res.Finished.Sub(res.Started).Seconds(),
		Began: r.since(res.Started), Attempts: res.attempts}
	r.event(SegmentEvent{Index: -1, State: "done", Node: res.Node, Attempt: res.attempts, Seconds: r.audioResult.Seconds})
	return nil
}

// encodeSegment encodes segment i and checks that it holds exactly the
// planned frames. A segment that came out short at its start (the demuxer's
// seek landed past the keyframe) is retried from the keyframe before; a
// failed ffmpeg is retried up to maxAttempts, avoiding nodes that failed.
func (r *run) encodeSegment(ctx context.Context, i int) error {
	seg := r.segs[i]
	want := r.out.Spans[i].Frames
	sum := &r.segResults[i]
	*sum = SegmentSummary{Index: i, Frames: want, StartSeconds: r.out.seconds(r.out.Spans[i].TrimStart)}
	if r.reused[i] {
		if r.rate != nil {
			if _, bytes, err := videoPackets(ctx, r.segmentPath(i)); err == nil {
				r.segmentDone(i, bytes)
			}
		}
		r.framesDone[i].Store(int64(want))
		r.mu.Lock()
		r.status.SegmentsDone++
		r.mu.Unlock()
		r.event(SegmentEvent{Index: i, State: "done", Frames: want, Reused: true})
		return nil
	}
	seek := seg.Seek
	var avoid, tried []string
	var lastErr error
	short := -1 // frames of the last attempt that came out short
	// A segment encoded again (at another size, or at a corrected rate)
	// numbers its attempts on from its earlier ones: only a first attempt
	// is the dispatcher's to place, and every attempt's service has a name
	// of its own.
	base := r.tries[i]
	for attempt := base + 1; attempt <= base+maxAttempts; attempt++ {
		r.tries[i] = attempt
		r.framesDone[i].Store(0)
		task := Task{
			JobID:   r.id,
			Name:    fmt.Sprintf("seg-%03d", i),
			Role:    RoleSegment,
			Segment: i,
			Attempt: attempt,
			Args:    r.segmentCommand(seg, seek, r.videoCodec, r.segmentOptions(i)).Args(),
			Output:  r.segmentPath(i),
			Avoid:   avoid,
			// A decoder that met damage says so and carries on (below).
			CaptureOutput: true,
			OnProgress: func(p media.Progress) {
				r.framesDone[i].Store(p.Frame)
			},
			OnStart: func(node string) {
				r.event(SegmentEvent{Index: i, State: "running", Node: node, Attempt: attempt, Frames: want})
			},
		}
		res, err := r.exec.Run(ctx, task)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if full := diskFull(r.temp); full != nil && (err != nil || !r.segmentComplete(ctx, i, want)) {
			return fmt.Errorf("segment %d on node %s: %w", i, nodeName(res.Node), full) // no retry fills a full disk
		}
		if gone := inputGone(r.cfg.Input); err != nil && gone != nil {
			r.event(SegmentEvent{Index: i, State: "failed", Node: res.Node, Attempt: attempt, Frames: want, Error: gone.Error()})
			return gone
		}
		sum.Node, sum.Attempts = res.Node, attempt
		tried = append(tried, nodeName(res.Node))
		sum.Seconds = res.Finished.Sub(res.Started).Seconds()
		sum.Began = r.since(res.Started)
		if err != nil {
			lastErr = fmt.Errorf("segment %d on node %s: %w", i, nodeName(res.Node), err)
			if !r.raiseRate(i, err) {
				avoid = append(avoid, res.Node)
			}
			r.event(SegmentEvent{Index: i, State: "failed", Node: res.Node, Attempt: attempt, Frames: want, Error: lastErr.Error()})
			continue
		}
		if line := r.decodeDamage(seg, res.Output); line != "" {
			return r.damagedLog(seg, line)
		}
		got, bytes, err := videoPackets(ctx, r.segmentPath(i))
		if err != nil {
			lastErr = fmt.Errorf("segment %d on node %s: %w", i, nodeName(res.Node), err)
			continue
		}
		if got < want && got == short && seek == scheduler.NoSeek {
			// The same frames missing from the keyframes before and from
			// the file's start: they do not decode, as in a whole-file ffmpeg.
			want = r.undecodable(seg, got, want)
			sum.Frames = want
		}
		if got == want {
			r.segmentDone(i, bytes)
			r.framesDone[i].Store(int64(want))
			if sum.Seconds > 0 {
				sum.FPS = float64(want) / sum.Seconds
			}
			r.mu.Lock()
			r.status.SegmentsDone++
			r.mu.Unlock()
			r.event(SegmentEvent{Index: i, State: "done", Node: res.Node, Attempt: attempt, Frames: want, Seconds: sum.Seconds, FPS: sum.FPS})
			return nil
		}
		lastErr = fmt.Errorf("segment %d on node %s: encoded %d frames, planned %d", i, nodeName(res.Node), got, want)
		r.event(SegmentEvent{Index: i, State: "failed", Node: res.Node, Attempt: attempt, Frames: want, Error: lastErr.Error()})
		if got < want && seek != scheduler.NoSeek {
			seek = seg.FallbackSeek // decode from further back
			if got == short {
				seek = scheduler.NoSeek // twice alike: from the start, as a whole-file ffmpeg
			}
		}
		short = got
	}
	if len(tried) > 1 {
		return fmt.Errorf("%w (tried %d times, on %s)", lastErr, len(tried), strings.Join(tried, ", "))
	}
	return lastErr
}

// segmentOptions are segment i's encoder options: the user's, at its share
// of the bit budget when there is one (which asks the budget), made to join.
func (r *run) segmentOptions(i int) []string {
	opts := r.opts.Video
	if r.rate != nil && r.rate.budget != nil {
		opts = r.finalOptions(i)
	}
	return media.Joinable(r.videoCodec, opts)
}

// segmentCommand is the ffmpeg run that encodes seg's frames, decoding
// from seek, with codec and its options.
func (r *run) segmentCommand(seg scheduler.Segment, seek int64, codec string, opts []string) media.SegmentCommand {
	if codec != "" {
		opts = append([]string{"-c:v", codec}, opts...)
	}
	if r.cfg.SegmentThreads > 0 && !hasOption(opts, "-threads") {
		opts = append(opts, "-threads", strconv.Itoa(r.cfg.SegmentThreads))
	}
	if seek == scheduler.NoSeek {
		seek = media.NoSeekPTS
	}
	return media.SegmentCommand{
		Input:       r.cfg.Input,
		VideoStream: r.src.video.Index,
		TimeBase:    r.src.video.TimeBase,
		Seek:        seek,
		StartPTS:    r.out.Spans[seg.Index].TrimStart,
		EndPTS:      r.out.Spans[seg.Index].TrimEnd,
		Last:        seg.Last,
		FrameRate:   r.opts.FrameRate,
		Filter:      r.opts.VideoFilter,
		Fit:         r.fit,
		Options:     opts,
		Output:      r.segmentPath(seg.Index),
	}
}

func countVideoPackets(ctx context.Context, path string) (int, error) {
	n, _, err := videoPackets(ctx, path)
	return n, err
}

// videoPackets counts the video packets of path that are not discarded,
// and their bytes.
func videoPackets(ctx context.Context, path string) (n int, bytes int64, err error) {
	pkts, err := media.ReadPackets(ctx, path, "v:0")
	if err != nil {
		return 0, 0, err
	}
	for _, p := range pkts {
		if !p.Discard {
			n++
			bytes += p.Size
		}
	}
	return n, bytes, nil
}

func nodeName(n string) string {
	if n == "" {
		return "(none)"
	}
	return n
}

// inputGone tells a task that failed because the input was deleted from a
// node fault: no node can read it, so no retry can help.
func inputGone(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("input %s: no such file (deleted while the job ran)", path)
	}
	return nil
}

// runWithRetry runs a single task (audio, analysis) up to maxAttempts times,
// each retry avoiding the nodes that failed it.
func (r *run) runWithRetry(ctx context.Context, t Task) (retried, error) {
	var res TaskResult
	var err error
	for t.Attempt = 1; t.Attempt <= maxAttempts; t.Attempt++ {
		res, err = r.exec.Run(ctx, t)
		if err == nil || ctx.Err() != nil {
			return retried{res, t.Attempt}, err
		}
		if gone := inputGone(r.cfg.Input); gone != nil {
			return retried{res, t.Attempt}, gone
		}
		err = fmt.Errorf("on node %s: %w", nodeName(res.Node), err)
		t.Avoid = append(t.Avoid, res.Node)
	}
	return retried{res, maxAttempts}, err
}

// retried is a task's result and how many attempts it took.
type retried struct {
	TaskResult
	attempts int
}

func hasOption(opts []string, name string) bool {
	for _, o := range opts {
		if o == name || strings.HasPrefix(o, name+":") {
			return true
		}
	}
	return false
}

// trimArgs are -ss and -t for the -ss/-t/-to window, or nothing.
func (r *run) trimArgs() []string {
	t := r.opts.Trim
	if !t.Set {
		return nil
	}
	args := []string{"-ss", strconv.FormatFloat(t.Start, 'f', -1, 64)}
	if !math.IsInf(t.End, 1) {
		args = append(args, "-t", strconv.FormatFloat(t.End-t.Start, 'f', -1, 64))
	}
	return args
}

// segmentComplete reports whether segment i's file holds its frames.
func (r *run) segmentComplete(ctx context.Context, i, want int) bool {
	got, err := countVideoPackets(ctx, r.segmentPath(i))
	return err == nil && got == want
}

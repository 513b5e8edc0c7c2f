package job

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/dswarm/dswarm/media"
)

// fitFrames gives the output one frame size and pixel format throughout,
// as ffmpeg does: its encoder is opened with the first frame's, and frames
// that come later at another size (a splice to an ad in SD, a stream that
// changes resolution) are scaled to it. A segment's own ffmpeg does the
// same within the segment, so only a segment that starts at another size
// differs from the first one: those are encoded again, scaled to the first
// segment's format. Nothing is encoded twice for a stream of one size.
func (r *run) fitFrames(ctx context.Context) error {
	formats, err := r.segmentFormats(ctx)
	if err != nil {
		return err
	}
	redo := changedFormats(formats)
	if len(redo) == 0 {
		return nil
	}
	want := formats[0]
	first := redo[0]
	r.warnf("the video changes from %s to %s at %.3fs: later frames are scaled to %s, as ffmpeg scales them", want, formats[first], r.out.seconds(r.out.Spans[first].TrimStart), want)
	r.fit = &want

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(redo))
	slots := make(chan struct{}, max(r.workers, 1))
	for _, i := range redo {
		r.mu.Lock()
		r.status.SegmentsDone--
		r.mu.Unlock()
		r.reused[i] = false
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-slots }()
			if err := r.encodeSegment(ctx, i); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return ctx.Err()
}

// changedFormats lists the segments whose frame format differs from the
// first segment's.
func changedFormats(formats []media.FrameFormat) []int {
	var out []int
	for i := 1; i < len(formats); i++ {
		if formats[i] != formats[0] {
			out = append(out, i)
		}
	}
	return out
}

// segmentFormats reads every segment file's frame format, a few at once
// (each is one short ffprobe run on this machine).
func (r *run) segmentFormats(ctx context.Context) ([]media.FrameFormat, error) {
	formats := make([]media.FrameFormat, len(r.segs))
	errs := make([]error, len(r.segs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(max(runtime.NumCPU(), 2), 8, len(r.segs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				formats[i], errs[i] = media.ReadFrameFormat(ctx, r.segmentPath(i))
			}
		}()
	}
	for i := range r.segs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i, err)
		}
	}
	return formats, nil
}

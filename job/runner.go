package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// source is what the probe learned about the input.
type source struct {
	info   *media.Info
	video  media.Stream
	frames []scheduler.Frame
	// keys are every keyframe's pts, also those before a -ss window
	keys []int64
	// after is the pts of the first frame after a -t/-to window, if any
	after    int64
	hasAfter bool
	// extents of every stream, by stream index
	extents map[int]media.Extent
	// breaks are where the video's decode timestamps jump (splices)
	breaks []media.Break
	// gopEnds are the dts of the video packets just before a keyframe
	gopEnds map[int64]bool
}

// Run walks one job through probe -> plan -> run -> merge -> verify. On any
// failure, or when ctx is cancelled, it removes the partial output and (unless
// KeepTemp) the temporary files, so that nothing half-written is left.
func Run(ctx context.Context, cfg Config, exec Executor) (sum *Summary, err error) {
	start := time.Now()
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if err := checkInput(cfg.Input); err != nil {
		return nil, err
	}
	opts, err := media.ParseOptions(cfg.FFmpegArgs)
	if err != nil {
		return nil, err
	}
	cfg.Overwrite = cfg.Overwrite || opts.Overwrite

	id := cfg.JobID
	if id == "" {
		id = NewJobID()
	}
	partial, err := prepareOutput(cfg.Output, cfg.PartialDir, id, cfg.Overwrite)
	if err != nil {
		return nil, err
	}
	tempRoot := cfg.TempDir
	if tempRoot == "" {
		tempRoot = filepath.Dir(cfg.Output)
	}
	temp := filepath.Join(tempRoot, ".dswarm-"+id)
	defer func() {
		if err != nil {
			os.Remove(partial)
			if !cfg.KeepTemp {
				os.RemoveAll(temp)
			}
		}
	}()
	if err := os.MkdirAll(temp, 0o755); err != nil {
		return nil, fmt.Errorf("temp directory %s: %w", temp, unwrapPath(err))
	}

	// Tasks that run as another user (swarm) may write only the job's own
	// folder; the preflight and the merge, which writes the output, run
	// in the sandbox as that user too.
	uid, gid := -1, -1
	if c, ok := exec.(Confiner); ok {
		if err := c.Confine(cfg.Input, temp, ""); err != nil {
			return nil, err
		}
		if uid, gid, err = c.UserIDs(); err != nil {
			return nil, err
		}
	}
	if w, ok := exec.(Warmer); ok {
		w.Warm(id)
	}
	sandbox, err := media.NewSandbox(uid, gid)
	if err != nil {
		return nil, err
	}
	defer sandbox.Close()
	if err := sandbox.CheckReadable(ctx, cfg.Input); err != nil {
		return nil, fmt.Errorf("input %w", err)
	}
	// On an NFS export with root_squash this fails (root is nobody there
	// already, and owns what it made): the merge's own write then tells.
	_ = sandbox.Give(partial)

	r := &run{cfg: cfg, opts: opts, exec: exec, id: id, temp: temp, partial: partial, sandbox: sandbox,
		tracker: tracker{start: start, onProgress: cfg.Progress}}
	r.status.Phase = "probe"
	r.report()
	src, err := probeSource(ctx, cfg.Input)
	if err != nil {
		return nil, err
	}
	if src, err = r.repairTimeline(ctx, src); err != nil {
		return nil, err
	}
	r.src = src
	if err := src.window(opts.Trim); err != nil {
		return nil, fmt.Errorf("input %s: %w", cfg.Input, err)
	}
	if cfg.SegmentDuration <= 0 {
		f := src.frames
		video := time.Duration(src.video.TimeBase.Seconds(f[len(f)-1].PTS-f[0].PTS) * float64(time.Second))
		cfg.SegmentDuration = cfg.Sizing.SegmentDuration(video, cfg.Slots)
		r.cfg.SegmentDuration = cfg.SegmentDuration
	}
	segs, err := scheduler.PlanSegments(src.frames, scheduler.SegmentOptions{
		Target: secondsToTicks(cfg.SegmentDuration.Seconds(), src.video.TimeBase),
		Even:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", cfg.Input, err)
	}
	if opts.Trim.Set {
		scheduler.Reseek(segs, src.keys)
		if src.hasAfter {
			// The window ends before the stream: the last segment stops at
			// the first frame after it, not at the end of the file.
			last := &segs[len(segs)-1]
			last.EndPTS, last.Last = src.after, false
		}
	}
	r.segs = segs
	var rate media.Rational
	if opts.FrameRate != "" {
		if rate, err = parseRate(opts.FrameRate); err != nil {
			return nil, err
		}
	}
	r.out = planOutput(segs, src.video.TimeBase, rate)
	r.workers = cfg.Workers
	if p, ok := exec.(Placer); ok {
		if r.workers, err = p.Place(id, segs); err != nil {
			return nil, fmt.Errorf("place segments: %w", err)
		}
	}
	r.reuse(ctx)
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	target, err := media.PlanBitrate(opts.Video, r.videoCodec)
	if err != nil {
		return nil, err
	}
	if target != nil {
		r.rate = &rateControl{target: target, onePass: cfg.OnePass, seconds: r.segmentSeconds(),
			asked: make([]float64, len(segs)), bytes: make([]int64, len(segs))}
	}
	var phases Phases
	mark := start
	lap := func(p *float64) {
		now := time.Now()
		*p, mark = now.Sub(mark).Seconds(), now
	}
	lap(&phases.Prepare)
	if err := r.encode(ctx); err != nil {
		return nil, err
	}
	if err := r.fitFrames(ctx); err != nil {
		return nil, err
	}
	lap(&phases.Encode)
	if err := r.merge(ctx); err != nil {
		return nil, err
	}
	lap(&phases.Merge)
	sum, err = r.verify(ctx)
	if err != nil {
		return nil, err
	}
	lap(&phases.Verify)
	sum.Phases = phases
	if err := moveFile(partial, cfg.Output); err != nil {
		return nil, fmt.Errorf("move %s into place: %w", cfg.Output, unwrapPath(err))
	}
	if !cfg.KeepTemp {
		os.RemoveAll(temp)
	} else {
		sum.TempDir = temp
	}
	sum.WallSeconds = time.Since(start).Seconds()
	if e, ok := exec.(Explainer); ok {
		sum.Placement = e.Placement()
		for i := range sum.Placement {
			for _, s := range sum.SegmentTimings {
				if s.Node == sum.Placement[i].Node {
					sum.Placement[i].Ran++
				}
			}
		}
	}
	return sum, nil
}

func probeSource(ctx context.Context, input string) (*source, error) {
	info, err := media.Probe(ctx, input)
	if err != nil {
		return nil, fmt.Errorf("probe %s: %w", input, err)
	}
	video, err := info.Video()
	if err != nil {
		return nil, fmt.Errorf("input %s: %w (dswarm transcodes video; is it audio-only?)", input, err)
	}
	pkts, err := media.ReadPackets(ctx, input, "")
	if err != nil {
		return nil, fmt.Errorf("read packets of %s: %w", input, err)
	}
	var frames []scheduler.Frame
	for _, p := range pkts {
		if p.Stream != video.Index || p.Discard {
			continue
		}
		if p.PTS == media.NoPTS && len(frames) > 0 {
			last := frames[len(frames)-1].PTS
			return nil, fmt.Errorf("input %s: a video packet after %.3fs has no timestamp: the file is damaged there", input, video.TimeBase.Seconds(last)-info.StartTime)
		}
		if p.PTS == media.NoPTS {
			return nil, fmt.Errorf("input %s: video packets have no timestamps (a raw elementary stream?); remux it first: ffmpeg -i IN -c copy OUT.mkv", input)
		}
		frames = append(frames, scheduler.Frame{PTS: p.PTS, Duration: p.Duration, Size: p.Size, Key: p.Key})
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("input %s: the video stream has no frames (truncated file?)", input)
	}
	sort.SliceStable(frames, func(i, j int) bool { return frames[i].PTS < frames[j].PTS })
	var keys []int64
	for _, f := range frames {
		if f.Key {
			keys = append(keys, f.PTS)
		}
	}
	return &source{info: info, video: video, frames: frames, keys: keys, extents: media.Extents(pkts),
		breaks: media.TimestampBreaks(pkts, video.Index, video.TimeBase), gopEnds: media.GOPEnds(pkts, video.Index)}, nil
}

// window keeps the frames of the -ss/-t window: those whose time from the
// input's start is in [Start, End), as ffmpeg's output -ss and -t keep them.
func (s *source) window(t media.Trim) error {
	if !t.Set {
		return nil
	}
	const eps = 1e-9
	var kept []scheduler.Frame
	for _, f := range s.frames {
		rel := s.video.TimeBase.Seconds(f.PTS) - s.info.StartTime
		if rel >= t.Start-eps && rel < t.End-eps {
			kept = append(kept, f)
		} else if rel >= t.End-eps && !s.hasAfter {
			s.after, s.hasAfter = f.PTS, true
		}
	}
	if len(kept) == 0 {
		last := s.frames[len(s.frames)-1]
		return fmt.Errorf("-ss/-t select no video frames: the video runs to %.3fs", s.video.TimeBase.Seconds(last.PTS)-s.info.StartTime)
	}
	s.frames = kept
	return nil
}

func secondsToTicks(sec float64, tb media.Rational) int64 {
	return int64(sec * float64(tb.Den) / float64(tb.Num))
}

// run is the state of one job between the steps.
type run struct {
	cfg     Config
	opts    media.Options
	exec    Executor
	id      string
	temp    string
	partial string
	src     *source
	segs    []scheduler.Segment
	// sandbox runs the job's own ffmpeg calls with the user's options.
	sandbox *media.Sandbox
	out     outputPlan
	workers int

	rate        *rateControl // nil without a bitrate target
	videoCodec  string       // encoder or codec name every segment uses
	audioCodec  string
	subtitles   []int
	subCodecs   []string // for each of subtitles: "copy" or the codec it is converted to
	attachments []int
	// videoParams are the encoder's colour and field order, which the NUT
	// segments do not carry, for the merge to set again.
	videoParams media.VideoParams
	audioFile   string
	reused      map[int]bool // segments (and -1, audio) kept from an earlier run
	segResults  []SegmentSummary
	tries       []int // attempts made at each segment
	audioResult *TaskSummary
	mergeResult *TaskSummary

	// userInput is the input as the user named it, when the job reads a
	// repaired copy of it (cfg.Input) instead.
	userInput string
	// fit is the frame format every segment is scaled to once the video
	// turned out to change size mid-stream (nil until then).
	fit *media.FrameFormat

	tracker
}

// reuse keeps the segments an earlier run of the job finished, if their
// files still hold exactly their frames.
func (r *run) reuse(ctx context.Context) {
	r.reused = map[int]bool{}
	for i := range r.segs {
		if r.cfg.Done[i] && r.segmentComplete(ctx, i, r.out.Spans[i].Frames) {
			r.reused[i] = true
			if s, ok := r.exec.(Skipper); ok {
				s.Skip(i)
			}
		}
	}
	if r.cfg.Done[-1] {
		if st, err := os.Stat(filepath.Join(r.temp, "audio.nut")); err == nil && st.Size() > 0 {
			r.reused[-1] = true
		}
	}
}

// since is t in seconds after the job's start.
func (r *run) since(t time.Time) float64 { return t.Sub(r.tracker.start).Seconds() }

func (r *run) event(e SegmentEvent) {
	if r.cfg.OnSegment != nil {
		r.cfg.OnSegment(e)
	}
}

func (r *run) warnf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, "dswarm: warning: "+format+"\n", args...)
}

// preflight encodes one frame (and a moment of audio) into the output's
// container with the user's options: it rejects unknown options and codecs
// the container cannot hold before any real work starts, and tells which
// codecs ffmpeg picks by default for that container. It runs in the job's
// sandbox (media.Sandbox): never with the privileges of this process.
func (r *run) preflight(ctx context.Context) error {
	out := r.sandbox.Path("preflight" + filepath.Ext(r.cfg.Output))
	args := []string{"-y", "-i", r.cfg.Input, "-map", fmt.Sprintf("0:%d", r.src.video.Index)}
	hasAudio := len(r.src.info.Audio()) > 0 && !r.opts.NoAudio
	if hasAudio {
		args = append(args, "-map", "0:a:0")
	}
	args = append(args, "-frames:v", "1", "-t", "0.5")
	if r.opts.FrameRate != "" {
		args = append(args, "-r", r.opts.FrameRate)
	}
	if r.opts.VideoCodec != "" {
		args = append(args, "-c:v", r.opts.VideoCodec)
	}
	if r.opts.VideoFilter != "" {
		args = append(args, "-vf", r.opts.VideoFilter)
	}
	args = append(args, r.opts.Video...)
	if hasAudio {
		if r.opts.AudioCodec != "" {
			args = append(args, "-c:a", r.opts.AudioCodec)
		}
		args = append(args, r.opts.Audio...)
	}
	args = append(args, r.opts.Global...)
	args = append(args, out)
	encoders, err := r.sandbox.Preflight(ctx, args)
	if err != nil {
		return fmt.Errorf("ffmpeg rejects these options for %s: %w", filepath.Base(r.cfg.Output), lastLine(err))
	}
	r.videoCodec = firstNonEmpty(r.opts.VideoCodec, encoders[0])
	if hasAudio {
		r.audioCodec = firstNonEmpty(r.opts.AudioCodec, encoders[1])
	}
	if err := r.keepVideo(ctx, out); err != nil {
		return err
	}
	os.Remove(out)
	return r.checkSubtitles(ctx)
}

// lastLine shortens a tool error to ffmpeg's own words.
func lastLine(err error) error {
	var te *media.ToolError
	if errors.As(err, &te) && te.LastLine != "" {
		return errors.New(te.LastLine)
	}
	return err
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

package job

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// LadderConfig is one ABR ladder job: the input encoded at every rung,
// packaged as CMAF (fMP4) with an HLS master playlist and a DASH manifest.
type LadderConfig struct {
	JobID string
	Input string
	// OutputDir is the folder the packaged ladder is published as; it is
	// written under a hidden name beside it and renamed at the end.
	OutputDir string
	// Spec is the ladder (media.ParseLadder): "default" or inline rungs.
	Spec string
	// Codec is the video encoder ("" = the -c:v among FFmpegArgs, else
	// libx264).
	Codec string
	// FFmpegArgs are encoder options for every rung (-preset, -tune, ...).
	FFmpegArgs []string
	// SegmentDuration is the packaged segments' length (default 4 s).
	SegmentDuration time.Duration
	// TaskDuration is about how much video one encode task takes (whole
	// packaged segments; default 12 s, less when that leaves workers idle).
	TaskDuration time.Duration
	Workers      int
	// SegmentThreads, when positive, is each encoder's -threads.
	SegmentThreads int
	// ThumbEvery, when positive, makes a thumbnail every so often (from
	// the same tasks), tiled into a sprite with a WebVTT track.
	ThumbEvery time.Duration
	// OnePass encodes every task in one pass (capped VBR) instead of the
	// encoder's two passes over the task's frames.
	OnePass bool
	// AudioBitrate is every audio track's AAC bitrate (default 128k).
	AudioBitrate int64
	TempDir      string // "" = beside the output
	KeepTemp     bool
	Overwrite    bool
	Log          io.Writer
	// Progress, when set, is called as work advances (from several
	// goroutines); frames count every pass of every task, and Rungs tell
	// each rung's frames.
	Progress func(Status)
	// OnSegment, when set, hears every change of an encode task's state,
	// as Config.OnSegment does of a segment's.
	OnSegment func(SegmentEvent)
}

// DefaultThumbEvery is how often a ladder makes a thumbnail unless told.
const DefaultThumbEvery = 2 * time.Second

// Ladder files, fixed names inside the output folder.
const (
	LadderManifest = "manifest.mpd"
	LadderMaster   = "master.m3u8"
	LadderSprite   = "thumbnails.jpg"
	LadderThumbs   = "thumbnails.vtt"
	// thumbWidth is a thumbnail's width; the height follows the shape.
	thumbWidth = 160
)

// laddersRefused are encoder options a ladder sets itself per rung, or
// that would break the alignment of keyframes between rungs.
var laddersRefused = map[string]string{
	"-b:v": "each rung has its own bitrate (--ladder)", "-crf": "each rung has its own bitrate (--ladder)",
	"-qp": "each rung has its own bitrate (--ladder)", "-q:v": "each rung has its own bitrate (--ladder)",
	"-maxrate": "each rung's cap is 1.5x its bitrate", "-bufsize": "each rung's buffer is 2 s at its bitrate",
	"-minrate": "each rung has its own bitrate (--ladder)",
	"-g":       "keyframes are placed at the packaged segments' starts", "-keyint_min": "keyframes are placed at the packaged segments' starts",
	"-force_key_frames": "keyframes are placed at the packaged segments' starts", "-sc_threshold": "keyframes are placed at the packaged segments' starts",
	"-x264-params": "could move keyframes off the packaged segments' starts", "-x264opts": "could move keyframes off the packaged segments' starts",
	"-x265-params": "could move keyframes off the packaged segments' starts", "-forced-idr": "keyframes at the packaged starts are IDR frames",
}

// ladderRun is the state of a ladder job between its steps.
type ladderRun struct {
	cfg     LadderConfig
	exec    Executor
	id      string
	temp    string
	partial string
	src     *source
	rungs   []media.Rung
	codec   media.LadderCodec
	options []string
	plan    scheduler.LadderPlan
	audio   []media.Stream
	// audioFiles are the encoded audio tracks, one per audio.
	audioFiles []string
	// subs are the text subtitle streams, subFiles their WebVTT.
	subs          []media.Stream
	subFiles      []string
	subRenditions []media.Rendition
	// tags are every stream's tags (language, title), by stream index.
	tags map[int]map[string]string
	// thumbs are the frames (indexes) that become thumbnails, thumbH
	// their height.
	thumbs []int
	thumbH int
	tasks  []SegmentSummary
	// checked counts each rung's frames in the tasks checked so far.
	checked []int64

	tracker // framesDone: per task, over its passes
}

// rungStatus fills in each rung's frames: a task encodes every rung, so a
// rung has what its tasks' last passes have made, and what their checked
// files hold.
func (r *ladderRun) rungStatus(st *Status) {
	var encoded int64
	for t := range r.framesDone {
		done := r.framesDone[t].Load()
		if !r.cfg.OnePass {
			done -= int64(r.plan.Tasks[t].Count)
		}
		encoded += max(done, 0)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st.Rungs = make([]RungStatus, len(r.rungs))
	for i, rung := range r.rungs {
		st.Rungs[i] = RungStatus{Name: rung.Name(), Width: rung.Width, Height: rung.Height, Bitrate: rung.Bitrate,
			Encoded: encoded, Checked: r.checked[i], Frames: int64(len(r.src.frames))}
	}
}

func (r *ladderRun) event(e SegmentEvent) {
	if r.cfg.OnSegment != nil {
		r.cfg.OnSegment(e)
	}
}

// progress follows task t's ffmpeg in pass pass (1 or 2; 0 for one pass).
func (r *ladderRun) progress(t, pass int) func(media.Progress) {
	before := int64(0)
	if pass == 2 {
		before = int64(r.plan.Tasks[t].Count)
	}
	return func(p media.Progress) {
		r.framesDone[t].Store(before + p.Frame)
		r.report()
	}
}

// RunLadder encodes cfg.Input at every rung of the ladder and packages it:
// probe -> plan (packaged segments, grouped into tasks) -> one task per
// group decodes once and encodes every rung -> audio once -> package
// (DASH manifest, HLS playlists, same fMP4 segments) -> verify -> rename
// into place. A failed job leaves no output folder.
func RunLadder(ctx context.Context, cfg LadderConfig, exec Executor) (sum *LadderSummary, err error) {
	start := time.Now()
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	if err := checkInput(cfg.Input); err != nil {
		return nil, err
	}
	codec, options, noAudio, err := ladderOptions(cfg.Codec, cfg.FFmpegArgs)
	if err != nil {
		return nil, err
	}
	if err := checkLadderPasses(codec, options, cfg.OnePass); err != nil {
		return nil, err
	}
	rungs, err := media.ParseLadder(cfg.Spec)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.OutputDir); err == nil && !cfg.Overwrite {
		return nil, fmt.Errorf("output %s already exists (pass --overwrite to replace it)", cfg.OutputDir)
	}
	parent := filepath.Dir(cfg.OutputDir)
	if st, err := os.Stat(parent); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("output directory %s does not exist", parent)
	}
	id := cfg.JobID
	if id == "" {
		id = NewJobID()
	}
	tempRoot := cfg.TempDir
	if tempRoot == "" {
		tempRoot = parent
	}
	r := &ladderRun{cfg: cfg, exec: exec, id: id, codec: codec, options: options,
		tracker: tracker{start: start, onProgress: cfg.Progress},
		temp:    filepath.Join(tempRoot, ".dswarm-"+id),
		partial: filepath.Join(parent, ".dswarm-"+id+"-"+filepath.Base(cfg.OutputDir))}
	defer func() {
		if err != nil {
			os.RemoveAll(r.partial)
		}
		if !cfg.KeepTemp {
			os.RemoveAll(r.temp)
		}
	}()
	if codec.StatsParams && strings.ContainsAny(r.temp, ":") {
		return nil, fmt.Errorf("temp directory %s: %s takes its statistics file's name among its :-separated parameters; choose a --temp-dir without ':'", r.temp, codec.Encoder)
	}
	if _, ok := exec.(Confiner); ok {
		// Tasks on other machines may write only the job's own folder
		// (and the partial output), both on the shared storage: the
		// published folder is made inside the job's folder, and moved
		// (copied, from another filesystem) into place once verified.
		r.partial = filepath.Join(r.temp, "output")
	}
	for _, d := range []string{r.temp, r.partial} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, unwrapPath(err))
		}
	}
	if c, ok := exec.(Confiner); ok {
		if err := c.Confine(cfg.Input, r.temp, r.partial); err != nil {
			return nil, err
		}
	}

	r.setPhase("probe")
	src, err := probeSource(ctx, cfg.Input)
	if err != nil {
		return nil, err
	}
	if len(src.breaks) > 0 {
		return nil, fmt.Errorf("input %s: its video timestamps break at %d places; a ladder from it is not supported yet (remux it first: ffmpeg -i IN -c copy OUT.mkv)", cfg.Input, len(src.breaks))
	}
	r.src = src
	fitted, notes, err := media.FitLadder(rungs, src.video.Width, src.video.Height, media.Rational{})
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", cfg.Input, err)
	}
	for _, n := range notes {
		fmt.Fprintf(cfg.Log, "dswarm: note: %s\n", n)
	}
	r.rungs = fitted
	if !noAudio {
		r.audio = src.info.Audio()
	}
	for _, st := range src.info.Subtitles() {
		if media.IsTextSubtitle(st.Codec) {
			r.subs = append(r.subs, st)
		} else {
			fmt.Fprintf(cfg.Log, "dswarm: warning: subtitle stream %d (%s) is not text: it has no WebVTT form and is left out of the ladder\n", st.Index, st.Codec)
		}
	}
	if r.tags, err = media.StreamTags(ctx, cfg.Input); err != nil {
		return nil, fmt.Errorf("probe %s: %w", cfg.Input, err)
	}
	if err := r.planTasks(); err != nil {
		return nil, err
	}
	passes := 2
	if cfg.OnePass {
		passes = 1
	}
	r.framesDone = make([]atomic.Int64, len(r.plan.Tasks))
	r.checked = make([]int64, len(r.rungs))
	r.detail = r.rungStatus
	r.status.Segments = len(r.plan.Tasks)
	r.status.Frames = int64(passes * len(src.frames))
	r.setPhase("encode")
	if err := r.encode(ctx); err != nil {
		return nil, err
	}
	r.setPhase("package")
	if err := r.pack(ctx); err != nil {
		return nil, err
	}
	r.setPhase("verify")
	sum, err = r.verify(ctx)
	if err != nil {
		return nil, err
	}
	if err := publishDir(r.partial, cfg.OutputDir); err != nil {
		return nil, err
	}
	sum.Output = cfg.OutputDir
	sum.WallSeconds = time.Since(start).Seconds()
	sum.Tasks = r.tasks
	if cfg.KeepTemp {
		sum.TempDir = r.temp
	}
	return sum, nil
}

func (c *LadderConfig) normalize() error {
	if c.Input == "" {
		return errors.New("no input given")
	}
	if c.OutputDir == "" {
		c.OutputDir = strings.TrimSuffix(c.Input, filepath.Ext(c.Input)) + ".ladder"
	}
	if c.Spec == "" {
		c.Spec = "default"
	}
	if c.SegmentDuration <= 0 {
		c.SegmentDuration = 4 * time.Second
	}
	if c.TaskDuration <= 0 {
		c.TaskDuration = 12 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.AudioBitrate <= 0 {
		c.AudioBitrate = 128000
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	var err error
	if c.Input, err = filepath.Abs(c.Input); err != nil {
		return err
	}
	if c.OutputDir, err = filepath.Abs(strings.TrimRight(c.OutputDir, "/")); err != nil {
		return err
	}
	if c.TempDir != "" {
		if c.TempDir, err = filepath.Abs(c.TempDir); err != nil {
			return err
		}
	}
	return nil
}

// ladderOptions checks the user's options for a ladder: the codec and the
// encoder's own settings pass the allowlist as for any job; what the
// ladder decides per rung (rates, keyframes), filters, -r and trims are
// refused.
func ladderOptions(codec string, args []string) (c media.LadderCodec, video []string, noAudio bool, err error) {
	opts, err := media.ParseOptions(args)
	if err != nil {
		return c, nil, false, err
	}
	switch {
	case opts.VideoFilter != "":
		return c, nil, false, errors.New("option -vf: a ladder scales each rung itself; other filters are not supported with --ladder")
	case opts.FrameRate != "":
		return c, nil, false, errors.New("option -r: not supported with --ladder (every rung keeps the source's frames)")
	case opts.Trim.Set:
		return c, nil, false, errors.New("options -ss/-t/-to: not supported with --ladder")
	case len(opts.Audio) > 0 || opts.AudioCodec != "":
		return c, nil, false, errors.New("audio options: a ladder's audio is AAC stereo at 128k, once per track")
	case len(opts.Global) > 0:
		return c, nil, false, fmt.Errorf("option %s: a ladder's muxing is dswarm's own (fMP4, HLS and DASH)", opts.Global[0])
	}
	for _, o := range opts.Video {
		name, _, _ := strings.Cut(o, ":")
		if o == "-b:v" || o == "-q:v" {
			name = o
		}
		if why, ok := laddersRefused[name]; ok {
			return c, nil, false, fmt.Errorf("option %s: %s", o, why)
		}
	}
	if codec == "" {
		codec = opts.VideoCodec
	}
	if codec == "" {
		codec = "libx264"
	}
	c, ok := media.LadderCodecs[codec]
	if !ok {
		return c, nil, false, fmt.Errorf("ladder codec %s: not supported (libx264, libx265 or libvpx-vp9; libsvtav1 in this ffmpeg places keyframes only every -g frames, not at the packaged segments' starts)", codec)
	}
	return c, opts.Video, opts.NoAudio, nil
}

// CheckLadder checks a ladder request before it is queued: the spec
// parses, and the codec and options are ones a ladder takes.
func CheckLadder(spec, codec string, args []string, onePass bool) error {
	c, video, _, err := ladderOptions(codec, args)
	if err != nil {
		return err
	}
	if err := checkLadderPasses(c, video, onePass); err != nil {
		return err
	}
	_, err = media.ParseLadder(spec)
	return err
}

// checkLadderPasses refuses two passes where the encoder writes no
// statistics: libvpx at -deadline realtime.
func checkLadderPasses(c media.LadderCodec, video []string, onePass bool) error {
	if onePass || c.Encoder != "libvpx-vp9" {
		return nil
	}
	for i := 0; i+1 < len(video); i++ {
		if video[i] == "-deadline" && video[i+1] == "realtime" {
			return errors.New("option -deadline realtime: libvpx writes no two-pass statistics there; add --one-pass, or use -deadline good")
		}
	}
	return nil
}

// minLadderTask is the least video an encode task takes where the title
// has it.
const minLadderTask = 8 * time.Second

// planTasks places the packaged segments' starts and groups them into
// encode tasks: about TaskDuration each, but at least two per worker
// where the title allows.
func (r *ladderRun) planTasks() error {
	tb := r.src.video.TimeBase
	target := secondsToTicks(r.cfg.SegmentDuration.Seconds(), tb)
	one, err := scheduler.PlanLadder(r.src.frames, r.src.keys, target, 1)
	if err != nil {
		return fmt.Errorf("plan %s: %w", r.cfg.Input, err)
	}
	seg := r.cfg.SegmentDuration.Seconds()
	per := max(1, int(math.Round(r.cfg.TaskDuration.Seconds()/seg)))
	per = min(per, max(1, len(one.Starts)/(2*r.cfg.Workers)))
	// x264's second pass undershoots on a few seconds (-7% on 2 s of
	// 240p: the first frame weighs too much); from 8 s on it lands
	// within 2%.
	per = max(per, int(math.Ceil(minLadderTask.Seconds()/seg)))
	r.plan, err = scheduler.PlanLadder(r.src.frames, r.src.keys, target, per)
	if err != nil {
		return err
	}
	if r.cfg.ThumbEvery > 0 {
		r.thumbs = scheduler.TimeGrid(r.src.frames, secondsToTicks(r.cfg.ThumbEvery.Seconds(), tb))
		r.thumbH = max(2, int(math.Round(float64(thumbWidth*r.rungs[0].Height)/float64(r.rungs[0].Width)/2))*2)
	}
	return nil
}

func (r *ladderRun) thumbFile(k int) string {
	return filepath.Join(r.temp, fmt.Sprintf("thumb-%05d.jpg", k))
}

// taskThumbs are the thumbnails task t makes: their numbers, and their
// frames counted from the task's first.
func (r *ladderRun) taskThumbs(t int) (first int, frames []int) {
	s := r.plan.Tasks[t]
	first = -1
	for k, f := range r.thumbs {
		if f >= s.First && f < s.First+s.Count {
			if first < 0 {
				first = k
			}
			frames = append(frames, f-s.First)
		}
	}
	return first, frames
}

func (r *ladderRun) rungFile(task, rung int) string {
	return filepath.Join(r.temp, fmt.Sprintf("seg-%03d-r%d.nut", task, rung))
}

// passLog is the prefix of the encoder's first-pass statistics of one
// rung of a task.
func (r *ladderRun) passLog(task, rung int) string {
	return filepath.Join(r.temp, fmt.Sprintf("seg-%03d-r%d-pass", task, rung))
}

// command builds task t's ffmpeg arguments.
func (r *ladderRun) command(t int) media.LadderCommand {
	seg := r.plan.Tasks[t]
	tb := r.src.video.TimeBase
	frames := r.src.frames
	var keys []string
	for _, f := range r.plan.KeyFrames(t) {
		// The frame's own time, rounded down to the microsecond: ffmpeg
		// forces a keyframe on the first frame at or after it.
		us := tb.Micros(frames[f].PTS-seg.StartPTS) - 1
		keys = append(keys, media.FormatMicros(max(us, 0)))
	}
	fps := r.src.video.FrameRate.Float()
	if fps <= 0 {
		fps = 30
	}
	c := media.LadderCommand{
		Input:       r.cfg.Input,
		VideoStream: r.src.video.Index,
		TimeBase:    tb,
		Seek:        media.NoSeekPTS,
		StartPTS:    seg.StartPTS,
		EndPTS:      seg.EndPTS,
		Last:        seg.Last,
		KeyTimes:    keys,
		GOP:         2 * int(math.Ceil(r.cfg.SegmentDuration.Seconds()*fps)),
		Codec:       r.codec,
		Options:     r.options,
		Rungs:       r.rungs,
		Threads:     r.cfg.SegmentThreads,
	}
	if seg.Seek != scheduler.NoSeek {
		c.Seek = seg.Seek
	}
	for i := range r.rungs {
		c.Outputs = append(c.Outputs, r.rungFile(t, i))
		c.PassLogs = append(c.PassLogs, r.passLog(t, i))
	}
	if first, frames := r.taskThumbs(t); len(frames) > 0 {
		c.Thumbs, c.ThumbStart = frames, first
		c.ThumbWidth, c.ThumbHeight = thumbWidth, r.thumbH
		c.ThumbPattern = filepath.Join(r.temp, "thumb-%05d.jpg")
	}
	return c
}

// encode runs the audio task and every segment task, Workers at once;
// the first failure stops the rest.
func (r *ladderRun) encode(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, r.cfg.Workers)
	var wg sync.WaitGroup
	run := func(fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := fn(ctx); err != nil {
				cancel(err)
			}
		}()
	}
	if len(r.audio) > 0 {
		run(r.encodeAudio)
	}
	if len(r.subs) > 0 {
		run(r.convertSubtitles)
	}
	for t := range r.plan.Tasks {
		run(func(ctx context.Context) error { return r.encodeTask(ctx, t) })
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

func (r *ladderRun) encodeTask(ctx context.Context, t int) error {
	seg := r.plan.Tasks[t]
	pass := 2
	if r.cfg.OnePass {
		pass = 0
	}
	task := Task{JobID: r.id, Name: fmt.Sprintf("seg-%03d", t), Role: RoleSegment, Segment: t,
		Output: r.rungFile(t, 0), OnProgress: r.progress(t, pass)}
	var res TaskResult
	var err error
	started := time.Now()
	for task.Attempt = 1; task.Attempt <= 2; task.Attempt++ {
		err = nil
		cmd := r.command(t)
		if task.Attempt > 1 && seg.FallbackSeek != scheduler.NoSeek {
			// A demuxer's seek can land after the keyframe asked for
			// (frames then missing); the keyframe before it is safe.
			cmd.Seek = seg.FallbackSeek
		}
		var first []string
		if pass == 2 {
			cmd.Pass = 1
			first = cmd.Args()
			cmd.Pass = 2
		}
		task.Args = cmd.Args()
		r.event(SegmentEvent{Index: t, State: "running", Attempt: task.Attempt, Frames: seg.Count})
		if first != nil {
			// The first pass is an analysis: its statistics stay in the
			// job's folder for the second, which runs where it runs.
			res, err = r.exec.Run(ctx, Task{JobID: r.id, Name: fmt.Sprintf("ana-%03d", t), Role: RoleAnalysis,
				Segment: t, Attempt: task.Attempt, Args: first, Avoid: task.Avoid, Output: r.passLog(t, 0),
				OnProgress: r.progress(t, 1)})
		}
		if err == nil {
			if res, err = r.exec.Run(ctx, task); err == nil {
				err = r.checkTask(ctx, t)
			}
		}
		if err == nil || ctx.Err() != nil {
			break
		}
		r.event(SegmentEvent{Index: t, State: "failed", Node: res.Node, Attempt: task.Attempt, Frames: seg.Count, Error: err.Error()})
		task.Avoid = append(task.Avoid, res.Node)
	}
	res.Started = started
	if err != nil {
		return fmt.Errorf("segment %d (%d frames from %.3fs) on node %s: %w", t, seg.Count,
			r.src.video.TimeBase.Seconds(seg.StartPTS-r.src.frames[0].PTS), nodeName(res.Node), err)
	}
	secs := res.Finished.Sub(res.Started).Seconds()
	r.mu.Lock()
	r.status.SegmentsDone++
	r.tasks = append(r.tasks, SegmentSummary{Index: t, Frames: seg.Count,
		StartSeconds: r.src.video.TimeBase.Seconds(seg.StartPTS - r.src.frames[0].PTS), Seconds: secs,
		FPS: float64(seg.Count) / max(secs, 1e-9), Node: res.Node, Attempts: task.Attempt})
	for i := range r.checked {
		r.checked[i] += int64(seg.Count)
	}
	r.mu.Unlock()
	r.event(SegmentEvent{Index: t, State: "done", Node: res.Node, Attempt: task.Attempt, Frames: seg.Count,
		Seconds: secs, FPS: float64(seg.Count) / max(secs, 1e-9)})
	r.report()
	return nil
}

// checkTask counts every rung's frames of task t.
func (r *ladderRun) checkTask(ctx context.Context, t int) error {
	want := r.plan.Tasks[t].Count
	for i, rung := range r.rungs {
		got, err := countVideoPackets(ctx, r.rungFile(t, i))
		if err != nil {
			return fmt.Errorf("rung %s: %w", rung.Name(), err)
		}
		if got != want {
			return fmt.Errorf("rung %s has %d frames, want %d", rung.Name(), got, want)
		}
	}
	first, frames := r.taskThumbs(t)
	for k := range frames {
		if _, err := os.Stat(r.thumbFile(first + k)); err != nil {
			return fmt.Errorf("thumbnail %d: %w", first+k, unwrapPath(err))
		}
	}
	return nil
}

func (r *ladderRun) encodeAudio(ctx context.Context) error {
	c := media.LadderAudioCommand{Input: r.cfg.Input, Bitrate: r.cfg.AudioBitrate}
	for i, a := range r.audio {
		c.Streams = append(c.Streams, a.Index)
		c.Outputs = append(c.Outputs, filepath.Join(r.temp, fmt.Sprintf("audio-%d.mp4", i)))
	}
	task := Task{JobID: r.id, Name: "audio", Role: RoleAudio, Segment: -1, Args: c.Args(), Output: c.Outputs[0]}
	var err error
	for task.Attempt = 1; task.Attempt <= 2; task.Attempt++ {
		if _, err = r.exec.Run(ctx, task); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("audio: %w", err)
	}
	r.audioFiles = c.Outputs
	return nil
}

// convertSubtitles writes every text subtitle stream as WebVTT.
func (r *ladderRun) convertSubtitles(ctx context.Context) error {
	c := media.SubtitleCommand{Input: r.cfg.Input}
	for i, st := range r.subs {
		c.Streams = append(c.Streams, st.Index)
		c.Outputs = append(c.Outputs, filepath.Join(r.temp, fmt.Sprintf("sub_%d.vtt", i)))
	}
	task := Task{JobID: r.id, Name: "subtitles", Role: RoleAudio, Segment: -1, Args: c.Args(), Output: c.Outputs[0], Attempt: 1}
	if _, err := r.exec.Run(ctx, task); err != nil {
		return fmt.Errorf("subtitles: %w", err)
	}
	r.subFiles = c.Outputs
	return nil
}

// rendition names one audio or subtitle track for the playlists: its title
// or language, else what and which it is.
func (r *ladderRun) rendition(st media.Stream, n int, kind, uri string) media.Rendition {
	t := r.tags[st.Index]
	lang := t["language"]
	if lang == "und" {
		lang = ""
	}
	name := firstNonEmpty(t["title"], lang)
	if name == "" {
		name = fmt.Sprintf("%s %d", kind, n+1)
	}
	return media.Rendition{URI: uri, Name: name, Language: lang, Default: n == 0 && kind == "Audio"}
}

// packSubtitles puts the WebVTT files beside the segments, each with an
// HLS playlist of its own; verify adds them to the manifest.
func (r *ladderRun) packSubtitles() error {
	if len(r.subFiles) == 0 {
		return nil
	}
	var subs []media.Rendition
	for i, f := range r.subFiles {
		name := filepath.Base(f)
		if err := os.Rename(f, filepath.Join(r.partial, name)); err != nil {
			return fmt.Errorf("package subtitles: %w", err)
		}
		list := fmt.Sprintf("sub_%d.m3u8", i)
		text := media.SubtitlePlaylist(name, max(r.src.info.Duration, 1))
		if err := os.WriteFile(filepath.Join(r.partial, list), []byte(text), 0o644); err != nil {
			return fmt.Errorf("package subtitles: %w", err)
		}
		subs = append(subs, r.rendition(r.subs[i], i, "Subtitles", name))
	}
	r.subRenditions = subs
	return nil
}

// pack joins each rung's segments and packages the ladder into the
// partial folder: init and media segments, the DASH manifest, and HLS
// media playlists (rewritten for video on demand). The master playlist is
// written by verify, from the bitrates it measures.
func (r *ladderRun) pack(ctx context.Context) error {
	tb := r.src.video.TimeBase
	first := r.plan.Tasks[0].StartPTS
	cmd := media.PackageCommand{Audio: r.audioFiles, Tag: r.codec.Tag,
		SegmentSecs: media.FormatMicros(r.cfg.SegmentDuration.Microseconds()),
		Manifest:    filepath.Join(r.partial, LadderManifest)}
	for i := range r.rungs {
		entries := make([]media.ConcatEntry, len(r.plan.Tasks))
		for t, s := range r.plan.Tasks {
			entries[t] = media.ConcatEntry{Path: filepath.Base(r.rungFile(t, i))}
			if !s.Last {
				entries[t].Duration = media.FormatMicros(tb.Micros(s.EndPTS-first) - tb.Micros(s.StartPTS-first))
			}
		}
		list := filepath.Join(r.temp, fmt.Sprintf("rung-%d.ffconcat", i))
		if err := os.WriteFile(list, []byte(media.ConcatList(entries)), 0o644); err != nil {
			return fmt.Errorf("write concat list: %w", unwrapPath(err))
		}
		cmd.Lists = append(cmd.Lists, list)
	}
	// The audio starts at the file's start time, as ffmpeg's own; the
	// video comes as much later as its first frame does.
	offset := tb.Micros(first) - int64(r.src.info.StartTime*1e6+0.5)
	cmd.VideoOffset = media.FormatMicros(max(offset, 0))
	task := Task{JobID: r.id, Name: "package", Role: RoleMerge, Segment: -1, Args: cmd.Args(), Output: cmd.Manifest}
	if _, err := r.exec.Run(ctx, task); err != nil {
		return fmt.Errorf("package: %w", err)
	}
	mpd, err := os.ReadFile(cmd.Manifest)
	if err != nil {
		return fmt.Errorf("package: %w", err)
	}
	if err := os.WriteFile(cmd.Manifest, []byte(media.StrictMPD(string(mpd))), 0o644); err != nil {
		return fmt.Errorf("package: %w", err)
	}
	for i := 0; i < len(r.rungs)+len(r.audioFiles); i++ {
		p := filepath.Join(r.partial, fmt.Sprintf("media_%d.m3u8", i))
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("package: %w", err)
		}
		if err := os.WriteFile(p, []byte(media.VODPlaylist(string(b))), 0o644); err != nil {
			return fmt.Errorf("package: %w", err)
		}
	}
	if err := r.packThumbnails(ctx); err != nil {
		return err
	}
	return r.packSubtitles()
}

// packThumbnails tiles the tasks' thumbnails into one sprite, ten to a
// row, and writes the WebVTT track that points into it.
func (r *ladderRun) packThumbnails(ctx context.Context) error {
	n := len(r.thumbs)
	if n == 0 {
		return nil
	}
	cols := min(10, n)
	c := media.SpriteCommand{Pattern: filepath.Join(r.temp, "thumb-%05d.jpg"), Count: n, Columns: cols,
		Rows: (n + cols - 1) / cols, Output: filepath.Join(r.partial, LadderSprite)}
	task := Task{JobID: r.id, Name: "thumbnails", Role: RoleMerge, Segment: -1, Attempt: 1, Args: c.Args(), Output: c.Output}
	if _, err := r.exec.Run(ctx, task); err != nil {
		return fmt.Errorf("thumbnails: %w", err)
	}
	// On the source's timeline from the file's start, as the video,
	// audio and subtitles are.
	tb := r.src.video.TimeBase
	frames := r.src.frames
	starts := make([]float64, n)
	for k, f := range r.thumbs {
		starts[k] = tb.Seconds(frames[f].PTS) - r.src.info.StartTime
	}
	end := tb.Seconds(r.plan.Tasks[len(r.plan.Tasks)-1].EndPTS) - r.src.info.StartTime
	vtt := media.ThumbnailVTT(LadderSprite, starts, end, cols, thumbWidth, r.thumbH)
	return os.WriteFile(filepath.Join(r.partial, LadderThumbs), []byte(vtt), 0o644)
}

// moveDir renames the folder src to dst; across filesystems it copies it
// into a hidden folder beside dst first, renames that, and removes src.
// Its files are flat (a ladder's folder has no subfolders).
func moveDir(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".dswarm-move-*")
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err == nil {
		for _, e := range entries {
			if !e.Type().IsRegular() {
				err = fmt.Errorf("%s: not a regular file", filepath.Join(src, e.Name()))
				break
			}
			if err = copyFile(filepath.Join(src, e.Name()), filepath.Join(tmp, e.Name())); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return os.RemoveAll(src)
}

// copyFile copies the regular file src to dst, synced.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// publishDir renames the verified partial folder to dst; an existing dst
// (--overwrite) is moved aside first and removed after.
func publishDir(partial, dst string) error {
	old := ""
	if _, err := os.Stat(dst); err == nil {
		old = partial + ".old"
		if err := os.Rename(dst, old); err != nil {
			return fmt.Errorf("move the old %s aside: %w", dst, unwrapPath(err))
		}
	}
	if err := moveDir(partial, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return fmt.Errorf("move %s into place: %w", dst, unwrapPath(err))
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

const transcodeUsage = `Usage: dswarm transcode [flags] INPUT [ffmpeg output options...]

Cuts INPUT into segments at keyframes (or between them, frame-exactly, when
keyframes are sparse), encodes the segments in parallel, encodes the audio
once from the whole input, joins everything with stream copy and checks the
result (every source frame exactly once, video length within one frame,
audio within 50 ms) before moving it into place.

By default the job goes to the scheduler (dswarm serve, in the stack) at
--server or $DSWARM_SERVER with the token in $DSWARM_TOKEN: INPUT is
uploaded, progress is followed, and the result is downloaded to -o. Or run
the job directly: --swarm (segments and audio as one-shot Swarm services
on the nodes dswarm picks, from a manager node; the merge runs here) or
--local (ffmpeg processes here). Everything after INPUT goes to ffmpeg as output options:
  DSWARM_SERVER=http://manager:8090 dswarm transcode movie.mp4 -c:v libx264 -crf 23
  dswarm transcode --swarm movie.mp4 -c:v libx264 -crf 23
  dswarm transcode --local movie.mp4 -c:v libx264 -crf 23 -preset veryfast
  dswarm transcode --local movie.mp4 -o movie.mkv -c:v ffv1 -c:a flac

Only options dswarm knows to be safe are passed on (codecs, encoder and
muxer options, metadata, filter chains of filters that touch no file);
anything else is refused with the reason: -filter_complex, -map,
time-dependent filters (fade, select, ...), preset files, and anything that
reads or writes other files.

A bitrate target (-b:v without -crf/-qp) holds over the whole file: every
segment is analysed first, the file's bits are split by the complexity
measured, and each segment is encoded at its share, with the encoder's own
second pass for libx264, libx265 and mpeg4 (--one-pass: one pass at the
target in every segment):
  dswarm transcode --local movie.mp4 -c:v libx264 -b:v 2M -maxrate 3M -bufsize 4M

-r R is applied as ffmpeg's
fps filter would on the whole file, frame for frame. -ss/-t/-to trim the
plan: exactly the frames whose time from the input's start is in [ss, ss+t)
are encoded, and the audio and subtitles are cut to the same window.

Flags:
`

func transcodeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("transcode", pflag.ContinueOnError)
	fs.SetInterspersed(false) // everything after INPUT belongs to ffmpeg
	fs.SetOutput(stderr)
	var (
		cfg      job.Config
		local    bool
		swarm    bool
		sw       swarmFlags
		sf       serverFlags
		asJSON   bool
		quiet    bool
		segDur   time.Duration
		workers  int
		showHelp bool
	)
	fs.StringVarP(&cfg.Output, "output", "o", "", "output file (default: INPUT's name + .dswarm + INPUT's extension, beside it)")
	fs.BoolVar(&local, "local", false, "run segments as local ffmpeg processes (needs no Docker)")
	fs.BoolVar(&swarm, "swarm", false, "run segments and audio as one-shot Docker Swarm services (from a manager node); the merge runs here")
	fs.IntVarP(&workers, "workers", "w", runtime.NumCPU(), "segments encoded at once (--local; each encoder gets CPUs/workers threads unless -threads is given)")
	fs.DurationVar(&segDur, "segment-duration", 10*time.Second, "target length of a segment (--swarm: chosen from the video's length, the slots and the start-up cost unless given)")
	fs.StringVar(&cfg.TempDir, "temp-dir", "", "where segment files go (default: the output's directory)")
	fs.BoolVar(&cfg.KeepTemp, "keep-temp", false, "keep the segment files and lists after the job")
	fs.BoolVar(&cfg.Overwrite, "overwrite", false, "replace the output if it exists (ffmpeg's -y does too)")
	fs.BoolVar(&cfg.OnePass, "one-pass", false, "with -b:v, encode every segment in one pass at the target rate (default: analyse every segment, split the file's bits by complexity, then encode each at its share)")
	fs.BoolVar(&asJSON, "json", false, "print a machine-readable summary on stdout at the end")
	fs.BoolVarP(&quiet, "quiet", "q", false, "print nothing but errors (and the --json summary)")
	fs.BoolVarP(&showHelp, "help", "h", false, "show this help")
	sw.register(fs)
	sf.register(fs)
	var lf ladderFlags
	lf.register(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, transcodeUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	var ffArgs, inputArg []string
	if fs.NArg() > 0 {
		inputArg = fs.Args()[:1]
		var own []string
		var err error
		ffArgs, own, err = splitTrailingFlags(fs, fs.Args()[1:])
		if err == nil {
			err = fs.Parse(own)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dswarm transcode: %v\n", err)
			return 2
		}
	}
	if showHelp {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, transcodeUsage)
		fs.PrintDefaults()
		return 0
	}
	if len(inputArg) == 0 {
		fmt.Fprintln(stderr, "dswarm transcode: missing INPUT (see dswarm transcode --help)")
		return 2
	}
	if local && swarm {
		fmt.Fprintln(stderr, "dswarm transcode: choose one of --local (ffmpeg processes here) or --swarm (Swarm services from here), or neither (through the scheduler)")
		return 2
	}
	cfg.Input = inputArg[0]
	cfg.FFmpegArgs = ffArgs
	cfg.Workers = workers
	cfg.SegmentDuration = segDur
	if !quiet {
		cfg.Log = stderr
	}
	if lf.spec != "" {
		var lsw *swarmFlags
		var lsf *serverFlags
		switch {
		case swarm:
			lsw = &sw
		case !local:
			lsf = &sf
		}
		return runLadder(ctx, lf, cfg, lsw, lsf, segDur, fs.Changed("segment-duration"), asJSON, quiet, stdout, stderr)
	}
	var bar *progressBar
	if !quiet && isTerminal(stderr) {
		bar = newProgressBar(stderr)
		cfg.Progress = bar.update
	}
	var sum *job.Summary
	var err error
	switch {
	case !local && !swarm:
		sum, err = transcodeRemote(ctx, cfg, &sf, bar, stderr)
	case swarm:
		if !fs.Changed("segment-duration") {
			cfg.SegmentDuration = 0 // the sizing model chooses
		}
		sum, err = runSwarm(ctx, cfg, &sw, stderr)
	default:
		host, _ := os.Hostname()
		cfg.SegmentThreads = max(1, runtime.NumCPU()/max(workers, 1))
		sum, err = job.Run(ctx, cfg, job.Local{Hostname: host})
	}
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		return fail(stderr, err)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return fail(stderr, err)
		}
	}
	if !quiet {
		fmt.Fprintf(stderr, "dswarm: %s: %d frames in %d segments, verified, in %.1fs\n",
			sum.Output, sum.OutputFrames, sum.Segments, sum.WallSeconds)
	}
	return 0
}

// splitTrailingFlags takes dswarm's own flags out of the arguments after
// INPUT, so that "dswarm transcode IN -o OUT.mkv -c:v ffv1" works: -o and
// --long flags are never ffmpeg options, so they can be told apart.
func splitTrailingFlags(fs *pflag.FlagSet, args []string) (ffmpeg, own []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		var name string
		switch {
		case a == "-o":
			name = "output"
		case strings.HasPrefix(a, "--") && len(a) > 2:
			name, _, _ = strings.Cut(a[2:], "=")
		default:
			ffmpeg = append(ffmpeg, a)
			// The value of an ffmpeg option is ffmpeg's, even when it
			// starts with "--" (-x265-params --csv=...).
			if name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), ":"); strings.HasPrefix(a, "-") && i+1 < len(args) {
				if arity, _ := media.FFmpegOptions().Arity(name); arity == 1 {
					ffmpeg = append(ffmpeg, args[i+1])
					i++
				}
			}
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			return nil, nil, fmt.Errorf("unknown flag %s", a)
		}
		own = append(own, a)
		if f.NoOptDefVal == "" && !strings.Contains(a, "=") {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag %s needs a value", a)
			}
			own = append(own, args[i+1])
			i++
		}
	}
	return ffmpeg, own, nil
}

// swarmTaskStartup is what a one-shot service costs before ffmpeg encodes:
// measured on the docker-in-docker swarm at 1.0-1.5 s (create, schedule,
// start the container, seek).
const swarmTaskStartup = 1500 * time.Millisecond

// runSwarm runs a job on the swarm: the input goes onto the shared storage,
// every task becomes a one-shot service, and every service of the job is
// removed at the end, whatever happened.
func runSwarm(ctx context.Context, cfg job.Config, sw *swarmFlags, stderr io.Writer) (*job.Summary, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Output == "" {
		cfg.Output = job.DefaultOutput(cfg.Input)
	}
	sj, err := sw.startJob(ctx, cfg.Input, &cfg, cfg.Log, stderr)
	if err != nil {
		return nil, err
	}
	defer sj.end(ctx)
	if sj.exec.Speeds, err = loadSpeeds(sj.root); err != nil {
		fmt.Fprintf(stderr, "dswarm: warning: %v; starting from the weights\n", err)
	}
	cfg.JobID, cfg.Input = sj.id, sj.input
	cfg.TempDir = sj.layout.Tmp()
	cfg.PartialDir = sj.layout.Download()
	sum, err := job.Run(ctx, cfg, sj.exec)
	if serr := saveLearnt(sj.root, sj.exec, time.Now()); serr != nil {
		fmt.Fprintf(stderr, "dswarm: warning: learnt node speeds not kept: %v\n", serr)
	}
	return sum, err
}

// swarmJob is a job being run from here on the swarm (startJob).
type swarmJob struct {
	cli     stack.Conn
	exec    *stack.Executor
	feas    scheduler.Feasibility
	layout  nfs.Layout
	root    string // where this machine sees the shared storage
	id      string
	input   string // the input as staged on the storage
	cleanup func() // removes a staged copy
	stderr  io.Writer
}

// startJob readies a job on the swarm: the nodes that may run it (with
// their images checked), the executor over them (sized for cfg), the
// storage checked, a job ID, and input staged on the storage. end undoes
// what it made.
func (s *swarmFlags) startJob(ctx context.Context, input string, cfg *job.Config, log, stderr io.Writer) (*swarmJob, error) {
	cli, _, feas, err := s.connectChecked(ctx)
	if err != nil {
		return nil, err
	}
	sj := &swarmJob{cli: cli, feas: feas, layout: nfs.Layout{Root: s.storage}, cleanup: func() {}, stderr: stderr}
	fail := func(err error) (*swarmJob, error) {
		cli.Close()
		return nil, err
	}
	mounts, err := s.mounts()
	if err != nil {
		return fail(err)
	}
	if sj.root, err = filepath.Abs(s.storage); err != nil {
		return fail(err)
	}
	if sj.exec, err = s.executor(cli, feas, mounts, sj.root, cfg); err != nil {
		return fail(err)
	}
	if err := sj.layout.Check(ctx); err != nil {
		return fail(err)
	}
	sj.id = job.NewJobID()
	if sj.input, sj.cleanup, err = stageInput(input, s.storage, sj.id, log); err != nil {
		return fail(err)
	}
	return sj, nil
}

// end removes every service of the job (whatever happened to it), the
// staged input, and closes the connection.
func (sj *swarmJob) end(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := stack.RemoveJob(rctx, sj.cli, sj.id); err != nil {
		fmt.Fprintf(sj.stderr, "dswarm: warning: %v\n", err)
	}
	sj.cleanup()
	sj.cli.Close()
}

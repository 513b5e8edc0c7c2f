package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/server"
)

// serverFlags say where the scheduler is and how to prove who we are.
type serverFlags struct {
	url, tokenFile string
}

func (s *serverFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&s.url, "server", os.Getenv("DSWARM_SERVER"), "the scheduler's URL, e.g. http://manager:8090 ($DSWARM_SERVER)")
	fs.StringVar(&s.tokenFile, "token-file", os.Getenv("DSWARM_TOKEN_FILE"), "file holding the API token ($DSWARM_TOKEN_FILE; else $DSWARM_TOKEN)")
}

func (s *serverFlags) client() (*server.Client, error) {
	if s.url == "" {
		return nil, errors.New("no scheduler: give --server URL or set $DSWARM_SERVER (or run the job directly with --local or --swarm)")
	}
	token := os.Getenv("DSWARM_TOKEN")
	if s.tokenFile != "" {
		b, err := os.ReadFile(s.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("token file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("no API token: set $DSWARM_TOKEN or give --token-file")
	}
	return &server.Client{URL: s.url, Token: token}, nil
}

// transcodeRemote runs a job through the scheduler: upload, submit, follow,
// download to the output, and the same summary as a direct run. Ctrl-C
// cancels the job on the scheduler.
func transcodeRemote(ctx context.Context, cfg job.Config, sf *serverFlags, bar *progressBar, stderr io.Writer) (*job.Summary, error) {
	c, err := sf.client()
	if err != nil {
		return nil, err
	}
	if cfg.Output == "" {
		cfg.Output = job.DefaultOutput(cfg.Input)
	}
	if err := checkOutput(cfg.Output, cfg.Overwrite, "--overwrite or -y"); err != nil {
		return nil, err
	}
	// The scheduler checks the options too; checking them here first
	// refuses a bad option before a large upload, not after it.
	if _, err := media.ParseOptions(cfg.FFmpegArgs); err != nil {
		return nil, err
	}
	start := time.Now()
	final, err := runRemote(ctx, c, cfg.Input, server.SubmitRequest{Output: filepath.Base(cfg.Output), Options: withoutOverwrite(cfg.FFmpegArgs), OnePass: cfg.OnePass}, cfg.Log, bar, stderr)
	if err != nil {
		return nil, err
	}
	if err := c.Download(ctx, final.ID, cfg.Output); err != nil {
		return nil, err
	}
	sum := final.Summary
	if sum == nil {
		return nil, fmt.Errorf("job %s: done without a summary", final.ID)
	}
	sum.Output = cfg.Output
	sum.WallSeconds = time.Since(start).Seconds()
	return sum, nil
}

// checkOutput refuses, before an upload, an output that exists (unless
// overwrite, which flag asks for) or whose folder does not.
func checkOutput(path string, overwrite bool, flag string) error {
	if _, err := os.Stat(path); err == nil && !overwrite {
		return fmt.Errorf("output %s already exists (pass %s to replace it)", path, flag)
	}
	if st, err := os.Stat(filepath.Dir(path)); err != nil || !st.IsDir() {
		return fmt.Errorf("output directory %s: not a directory", filepath.Dir(path))
	}
	return nil
}

// withoutOverwrite is args without -y: the local output's business, not
// the scheduler's (which never overwrites).
func withoutOverwrite(args []string) []string {
	var opts []string
	for _, o := range args {
		if o != "-y" {
			opts = append(opts, o)
		}
	}
	return opts
}

// runRemote runs one job through the scheduler: it uploads input, submits
// req for it (its output named uniquely after req.Output), follows the job
// on bar, and returns the finished record. Ctrl-C cancels the job on the
// scheduler.
func runRemote(ctx context.Context, c *server.Client, input string, req server.SubmitRequest, log io.Writer, bar *progressBar, stderr io.Writer) (*server.Record, error) {
	logf := func(format string, args ...any) {
		if log != nil {
			fmt.Fprintf(log, "dswarm: "+format+"\n", args...)
		}
	}
	start := time.Now()
	path, err := c.Upload(ctx, input)
	if err != nil {
		return nil, err
	}
	logf("uploaded %s as %s in %.1fs", input, path, time.Since(start).Seconds())
	req.Input = path
	req.Output = fmt.Sprintf("%s-%s", job.NewJobID(), req.Output)
	rec, err := c.Submit(ctx, req)
	if err != nil {
		return nil, err
	}
	logf("job %s queued on %s", rec.ID, c.URL)
	final, err := c.Follow(ctx, rec.ID, func(r *server.Record) {
		if bar != nil {
			phase := r.Phase
			if phase == "" {
				phase = r.State
			}
			bar.update(job.Status{Phase: phase, Segments: len(r.Segments), SegmentsDone: r.Count("done"), Frames: r.Frames, FramesDone: r.FramesDone, Elapsed: time.Since(start)})
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, cerr := c.Cancel(cctx, rec.ID); cerr != nil {
				fmt.Fprintf(stderr, "dswarm: cancel job %s: %v\n", rec.ID, cerr)
			}
			return nil, ctx.Err()
		}
		return nil, err
	}
	if final.State != server.StateDone {
		return nil, fmt.Errorf("job %s %s: %s", final.ID, final.State, final.Error)
	}
	return final, nil
}

// ladderRemote runs a ladder job through the scheduler and copies the
// verified folder to lc.OutputDir.
func ladderRemote(ctx context.Context, lc job.LadderConfig, sf *serverFlags, bar *progressBar, stderr io.Writer) (*job.LadderSummary, error) {
	c, err := sf.client()
	if err != nil {
		return nil, err
	}
	if lc.ThumbEvery != job.DefaultThumbEvery {
		return nil, fmt.Errorf("--thumbnails %s: the scheduler makes a thumbnail every %s; run the ladder with --local or --swarm for another", lc.ThumbEvery, job.DefaultThumbEvery)
	}
	if err := checkOutput(lc.OutputDir, lc.Overwrite, "--overwrite"); err != nil {
		return nil, err
	}
	// Refused before a large upload, not after it.
	if err := job.CheckLadder(lc.Spec, lc.Codec, lc.FFmpegArgs, lc.OnePass); err != nil {
		return nil, err
	}
	if lc.Spec != "default" {
		// A spec file goes as one line, without its comments.
		rungs, _ := media.ParseLadder(lc.Spec)
		lc.Spec = media.LadderSpec(rungs)
	}
	start := time.Now()
	final, err := runRemote(ctx, c, lc.Input, server.SubmitRequest{Output: filepath.Base(lc.OutputDir), Options: withoutOverwrite(lc.FFmpegArgs), OnePass: lc.OnePass,
		Ladder: lc.Spec, LadderCodec: lc.Codec, SegmentSeconds: lc.SegmentDuration.Seconds()}, lc.Log, bar, stderr)
	if err != nil {
		return nil, err
	}
	if err := c.DownloadDir(ctx, final.ID, lc.OutputDir); err != nil {
		return nil, err
	}
	sum := final.LadderSummary
	if sum == nil {
		return nil, fmt.Errorf("job %s: done without a summary", final.ID)
	}
	sum.Output = lc.OutputDir
	sum.WallSeconds = time.Since(start).Seconds()
	return sum, nil
}

func jobsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("jobs", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serverFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dswarm jobs [--json]\n\nLists the scheduler's jobs, oldest first.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	c, err := sf.client()
	if err != nil {
		return fail(stderr, err)
	}
	recs, err := c.Jobs(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	if *asJSON {
		return printJSON(stdout, stderr, recs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPROGRESS\tINPUT\tOUTPUT\tCREATED")
	for _, r := range recs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, progressOf(r), r.Input, r.Output, r.Created.Format(time.DateTime))
	}
	tw.Flush()
	return 0
}

func progressOf(r *server.Record) string {
	if len(r.Segments) == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d segments", r.Count("done"), len(r.Segments))
}

func jobCmd(ctx context.Context, args []string, stdout, stderr io.Writer, cancel bool) int {
	name := "job"
	if cancel {
		name = "cancel"
	}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serverFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		if cancel {
			fmt.Fprintln(stderr, "Usage: dswarm cancel ID\n\nCancels a job: a queued one never runs; a running one's services are removed and its files deleted.\n\nFlags:")
		} else {
			fmt.Fprintln(stderr, "Usage: dswarm job ID [--json]\n\nShows a job: its state, and per segment the state, node, attempts and fps.\n\nFlags:")
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	c, err := sf.client()
	if err != nil {
		return fail(stderr, err)
	}
	var rec *server.Record
	if cancel {
		rec, err = c.Cancel(ctx, fs.Arg(0))
	} else {
		rec, err = c.Job(ctx, fs.Arg(0))
	}
	if err != nil {
		return fail(stderr, err)
	}
	if *asJSON {
		return printJSON(stdout, stderr, rec)
	}
	fmt.Fprintf(stdout, "job %s: %s", rec.ID, rec.State)
	if rec.Error != "" {
		fmt.Fprintf(stdout, " (%s)", rec.Error)
	}
	fmt.Fprintf(stdout, "\n  %s -> download/%s, options %s\n", rec.Input, rec.Output, strings.Join(rec.Options, " "))
	if cancel {
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SEGMENT\tSTATE\tNODE\tATTEMPTS\tFRAMES\tFPS\tSECONDS")
	for _, s := range rec.Segments {
		state := s.State
		if s.Reused {
			state += " (kept)"
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%d\t%.1f\t%.1f\n", s.Index, state, s.Node, s.Attempts, s.Frames, s.FPS, s.Seconds)
	}
	tw.Flush()
	return 0
}

func printJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fail(stderr, err)
	}
	return 0
}

func usageCode(err error) int {
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	return 2
}

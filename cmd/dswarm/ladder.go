package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/job"
)

// ladderFlags are transcode's flags for an ABR ladder.
type ladderFlags struct {
	spec   string
	codec  string
	thumbs time.Duration
}

func (l *ladderFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&l.spec, "ladder", "", "encode an ABR ladder packaged as HLS and DASH (fMP4) into the folder -o: \"default\", rungs such as 720p:3M,480p:1.2M,360p:600k, or a file of them")
	fs.StringVar(&l.codec, "ladder-codec", "", "the ladder's video encoder: libx264 (default, or -c:v), libx265 or libvpx-vp9")
	fs.DurationVar(&l.thumbs, "thumbnails", job.DefaultThumbEvery, "with --ladder, a thumbnail every so often, tiled into thumbnails.jpg with a WebVTT track thumbnails.vtt (0: none)")
}

// ladderSpec reads the spec: a file of rungs when a file of that name
// exists, else the spec itself.
func ladderSpec(spec string) (string, error) {
	if spec == "default" {
		return spec, nil
	}
	st, err := os.Stat(spec)
	if err != nil || st.IsDir() {
		return spec, nil
	}
	b, err := os.ReadFile(spec)
	if err != nil {
		return "", fmt.Errorf("ladder file %s: %w", spec, err)
	}
	return string(b), nil
}

// runLadder runs a ladder job with the local executor, as Swarm services
// (sw not nil) or through the scheduler (sf not nil), and reports it.
func runLadder(ctx context.Context, l ladderFlags, cfg job.Config, sw *swarmFlags, sf *serverFlags, segDur time.Duration, segDurSet bool, asJSON, quiet bool, stdout, stderr io.Writer) int {
	spec, err := ladderSpec(l.spec)
	if err != nil {
		return fail(stderr, err)
	}
	lc := job.LadderConfig{
		Input:      cfg.Input,
		OutputDir:  cfg.Output,
		Spec:       spec,
		Codec:      l.codec,
		FFmpegArgs: cfg.FFmpegArgs,
		Workers:    cfg.Workers,
		TempDir:    cfg.TempDir,
		KeepTemp:   cfg.KeepTemp,
		Overwrite:  cfg.Overwrite,
		OnePass:    cfg.OnePass,
		ThumbEvery: l.thumbs,
		Log:        cfg.Log,
	}
	if segDurSet {
		lc.SegmentDuration = segDur
	}
	lc.SegmentThreads = max(1, runtime.NumCPU()/max(cfg.Workers, 1))
	host, _ := os.Hostname()
	var bar *progressBar
	if !quiet && isTerminal(stderr) {
		bar = newProgressBar(stderr)
		lc.Progress = bar.update
	}
	var sum *job.LadderSummary
	switch {
	case sw != nil:
		lc.SegmentThreads = 0 // each node's ffmpeg chooses
		sum, err = swarmLadder(ctx, lc, sw, stderr)
	case sf != nil:
		sum, err = ladderRemote(ctx, lc, sf, bar, stderr)
	default:
		sum, err = job.RunLadder(ctx, lc, job.Local{Hostname: host})
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
		for _, r := range sum.Rungs {
			fmt.Fprintf(stderr, "dswarm: %-6s %4dx%-4d %5.0fk of %5dk (%+.1f%%), peak over 2 segments %5.0fk, BANDWIDTH %d\n",
				r.Name, r.Width, r.Height, r.Bitrate/1000, r.TargetBitrate/1000, 100*r.BitrateError, r.PeakWindow/1000, r.Bandwidth)
		}
		fmt.Fprintf(stderr, "dswarm: %s: %d rungs x %d frames in %d segments of %gs, verified, in %.1fs (%s, %s)\n",
			sum.Output, len(sum.Rungs), sum.SourceFrames, sum.PackagedSegments, sum.SegmentSeconds, sum.WallSeconds,
			job.LadderMaster, job.LadderManifest)
	}
	return 0
}

// swarmLadder runs a ladder job as Swarm services, as runSwarm runs a
// transcode (startJob): the job's folder is made on the shared storage
// (the tasks may write only it), each task runs on a free slot of the nodes
// dswarm may use, and the verified folder is then moved to -o.
func swarmLadder(ctx context.Context, lc job.LadderConfig, sw *swarmFlags, stderr io.Writer) (*job.LadderSummary, error) {
	if lc.Log == nil {
		lc.Log = io.Discard
	}
	sj, err := sw.startJob(ctx, lc.Input, &job.Config{SegmentDuration: lc.SegmentDuration}, lc.Log, stderr)
	if err != nil {
		return nil, err
	}
	defer sj.end(ctx)
	lc.Workers = 0
	for _, n := range sj.feas.Nodes {
		lc.Workers += max(n.Slots, 1)
	}
	lc.JobID, lc.Input = sj.id, sj.input
	lc.TempDir = sj.layout.Tmp()
	return job.RunLadder(ctx, lc, sj.exec)
}

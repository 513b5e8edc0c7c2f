package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

const benchUsage = `Usage: dswarm bench [--dry-run] [--json] [--frames N]

Measures every active node's encoding speed with the same short reference
encode (lavfi testsrc2 720p30, libx264 veryfast, to null), run as one-shot
services at the same time, and writes the frames per second as the node's
dswarm.weight label, which placement uses as the node's speed. --dry-run only
prints the labels it would write.

Flags:
`

// benchRow is one node's measurement.
type benchRow struct {
	Node   string  `json:"node"`
	FPS    float64 `json:"fps"`
	Weight string  `json:"weight"` // the label value written
	Old    string  `json:"old_weight,omitempty"`
	Error  string  `json:"error,omitempty"`
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sw, asJSON := swarmCommand("bench", stderr)
	dry := fs.Bool("dry-run", false, "print the labels, write nothing")
	frames := fs.Int("frames", 150, "frames of the reference encode")
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return exitForParse(err)
	}
	cli, nodes, _, err := sw.connect(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cli.Close()
	active, _ := scheduler.Active(nodes)
	id := job.NewJobID()
	defer func() { _ = stack.RemoveJob(context.WithoutCancel(ctx), cli, id) }()
	x := &stack.Executor{Engine: cli, Image: sw.image}
	runs := stack.RunEverywhere(ctx, x, id, "bench", "dswarm", "", active, func(scheduler.Node) []string {
		return []string{"bench-node", "--frames", strconv.Itoa(*frames)}
	})
	var rows []benchRow
	failed := 0
	for _, n := range active {
		r := benchRow{Node: n.Hostname, Old: labelOf(n)}
		run := runs[n.Hostname]
		fps, perr := parseFPS(run.Output)
		switch {
		case run.Err != nil:
			r.Error = run.Err.Error()
		case perr != nil:
			r.Error = perr.Error()
		default:
			r.FPS = fps
			r.Weight = strconv.FormatFloat(math.Round(fps*10)/10, 'f', -1, 64)
			if !*dry {
				if err := stack.SetNodeLabel(ctx, cli, n.ID, stack.LabelWeight, r.Weight); err != nil {
					r.Error = err.Error()
				}
			}
		}
		if r.Error != "" {
			failed++
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Node < rows[j].Node })
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rows)
	} else {
		for _, r := range rows {
			if r.Error != "" {
				fmt.Fprintf(stdout, "%-20s FAILED: %s\n", r.Node, r.Error)
				continue
			}
			verb := "set"
			if *dry {
				verb = "would set"
			}
			fmt.Fprintf(stdout, "%-20s %7.1f fps  %s %s=%s (was %q)\n", r.Node, r.FPS, verb, stack.LabelWeight, r.Weight, r.Old)
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "dswarm: bench: %d of %d nodes could not be measured\n", failed, len(active))
		return 1
	}
	return 0
}

func labelOf(n scheduler.Node) string {
	if !n.WeightLabelled {
		return ""
	}
	return strconv.FormatFloat(n.Weight, 'f', -1, 64)
}

// parseFPS finds the "dswarm-bench fps=N" line bench-node prints.
func parseFPS(lines []string) (float64, error) {
	for i := len(lines) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "dswarm-bench fps="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				return 0, fmt.Errorf("bad measurement %q", lines[i])
			}
			return f, nil
		}
	}
	return 0, fmt.Errorf("no measurement in the task's output")
}

// benchNode runs on a node (inside the worker image): the reference encode,
// timed; it prints "dswarm-bench fps=N".
func benchNode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("bench-node", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	frames := fs.Int("frames", 150, "frames to encode")
	if err := fs.Parse(args); err != nil {
		return exitForParse(err)
	}
	ff := media.FFmpegArgs([]string{"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30", "-frames:v", strconv.Itoa(*frames),
		"-c:v", "libx264", "-preset", "veryfast", "-f", "null", "-"})
	start := time.Now()
	if out, err := exec.CommandContext(ctx, "ffmpeg", ff...).CombinedOutput(); err != nil {
		return fail(stderr, fmt.Errorf("reference encode: %v: %s", err, strings.TrimSpace(string(out))))
	}
	fmt.Fprintf(stdout, "dswarm-bench fps=%.2f\n", float64(*frames)/time.Since(start).Seconds())
	return 0
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/scheduler"
)

const simulateUsage = `Usage: dswarm simulate --node-speeds 48,36,12 --segments 120 [flags]

Simulates one job (discrete events, no Docker) under each policy:
  static-weights     the original cluster: one contiguous piece per node, by weight
  equal-round-robin  segments to nodes in turn, whatever their speed
  min-mm             the Min-MM paper: largest first, finish times balanced once by weights
  dswarm             guided task sizes, earliest-finish placement, speeds learnt during
                     the job, backup copies of stragglers
True node speeds differ from the configured ones by up to --speed-error, or are
given apart from them with --true-speeds (a wrong dswarm.weight label), and
--slowdown makes a node slower mid-job. The nodes were never measured: dswarm
probes any that its placement rule would leave idle. Each policy's makespan is compared with
the lower bound: max(total work / total true speed, largest segment / fastest
speed) plus one start-up. The last line is dswarm's ratio.

Flags:
`

type simReport struct {
	LowerBound float64           `json:"lower_bound"`
	TrueSpeeds []float64         `json:"true_speeds"`
	Policies   []simPolicyReport `json:"policies"`
	Explain    []string          `json:"dswarm_nodes"`
}

type simPolicyReport struct {
	Policy   string  `json:"policy"`
	Makespan float64 `json:"makespan"`
	Ratio    float64 `json:"ratio"`
	Tasks    int     `json:"tasks"`
	Backups  int     `json:"backups"`
	Segments []int   `json:"segments_per_node"`
}

func simulateCmd(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("simulate", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	speeds := fs.String("node-speeds", "48,36,12", "configured node speeds (e.g. dswarm.weight labels), comma-separated")
	segments := fs.Int("segments", 120, "segments in the job")
	seed := fs.Int64("seed", 1, "random seed for segment complexity and speed errors")
	speedErr := fs.Float64("speed-error", 0.3, "true speeds differ from configured by up to this fraction")
	trueSpeeds := fs.String("true-speeds", "", "the nodes' real speeds, comma-separated, whatever --node-speeds says (instead of --speed-error)")
	startup := fs.Float64("startup-s", 1.5, "per-task start-up seconds")
	var slowdowns []string
	fs.StringArrayVar(&slowdowns, "slowdown", nil, "NODE:FACTOR@T: node (1-based) becomes FACTOR times slower at T seconds (repeatable)")
	asJSON := fs.Bool("json", false, "print JSON (the ratio line goes to stderr)")
	fs.Usage = func() { fmt.Fprint(stderr, simulateUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return exitForParse(err)
	}
	job := scheduler.SimJob{Segments: *segments, Seed: *seed, SpeedError: *speedErr, Startup: *startup}
	var err error
	if job.Speeds, err = parseSpeeds("--node-speeds", *speeds); err != nil {
		return fail(stderr, err)
	}
	if *trueSpeeds != "" {
		if fs.Changed("speed-error") {
			return fail(stderr, fmt.Errorf("--true-speeds and --speed-error exclude each other"))
		}
		if job.TrueSpeeds, err = parseSpeeds("--true-speeds", *trueSpeeds); err != nil {
			return fail(stderr, err)
		}
		if len(job.TrueSpeeds) != len(job.Speeds) {
			return fail(stderr, fmt.Errorf("--true-speeds: %d speeds for %d nodes", len(job.TrueSpeeds), len(job.Speeds)))
		}
	}
	if *segments <= 0 {
		return fail(stderr, fmt.Errorf("--segments must be positive"))
	}
	for _, s := range slowdowns {
		sd, err := parseSlowdown(s, len(job.Speeds))
		if err != nil {
			return fail(stderr, err)
		}
		job.Slowdowns = append(job.Slowdowns, sd)
	}
	cfg := job.Config()
	rep := simReport{LowerBound: scheduler.LowerBound(cfg), TrueSpeeds: cfg.TrueSpeeds}
	var ratio float64
	for _, p := range scheduler.Policies(cfg) {
		res, err := scheduler.Simulate(cfg, p)
		if err != nil {
			return fail(stderr, err)
		}
		rep.Policies = append(rep.Policies, simPolicyReport{Policy: res.Policy, Makespan: res.Makespan, Ratio: res.Ratio(),
			Tasks: res.Tasks, Backups: res.Backups, Segments: res.Segments})
		if d, ok := p.(*scheduler.Dispatcher); ok {
			rep.Explain = d.Explain()
			ratio = res.Ratio()
		}
	}
	last := fmt.Sprintf("dswarm makespan/lower-bound: %.3f", ratio)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintln(stderr, last)
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tmakespan\tratio\ttasks\tbackups\tsegments per node\t")
	for _, p := range rep.Policies {
		fmt.Fprintf(tw, "%s\t%.1fs\t%.3f\t%d\t%d\t%v\t\n", p.Policy, p.Makespan, p.Ratio, p.Tasks, p.Backups, p.Segments)
	}
	tw.Flush()
	fmt.Fprintf(stdout, "lower bound %.1fs; true speeds %s\n", rep.LowerBound, formatSpeeds(rep.TrueSpeeds))
	for _, e := range rep.Explain {
		fmt.Fprintln(stdout, "  "+e)
	}
	fmt.Fprintln(stdout, last)
	return 0
}

// parseSpeeds reads a comma-separated list of positive speeds.
func parseSpeeds(flag, list string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func formatSpeeds(v []float64) string {
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = strconv.FormatFloat(s, 'f', 1, 64)
	}
	return strings.Join(parts, ",")
}

// parseSlowdown reads NODE:FACTOR@T with a 1-based node number.
func parseSlowdown(s string, nodes int) (scheduler.Slowdown, error) {
	node, rest, ok1 := strings.Cut(s, ":")
	factor, at, ok2 := strings.Cut(rest, "@")
	n, err1 := strconv.Atoi(strings.TrimPrefix(node, "node"))
	f, err2 := strconv.ParseFloat(factor, 64)
	t, err3 := strconv.ParseFloat(strings.TrimSuffix(at, "s"), 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || err3 != nil || n < 1 || n > nodes || f <= 0 || t < 0 {
		return scheduler.Slowdown{}, fmt.Errorf("--slowdown %q: want NODE:FACTOR@SECONDS with NODE from 1 to %d, e.g. 1:3@150", s, nodes)
	}
	return scheduler.Slowdown{Node: n - 1, Factor: f, At: t}, nil
}

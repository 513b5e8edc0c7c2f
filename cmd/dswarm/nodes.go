package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

// version is printed by `dswarm version`; the image check runs it on nodes.
const version = "dswarm 0.1.0"

// nodeReport is one row of `dswarm nodes`.
type nodeReport struct {
	Hostname     string  `json:"hostname"`
	ID           string  `json:"id"`
	Arch         string  `json:"arch"`
	State        string  `json:"state"`
	Availability string  `json:"availability"`
	Weight       float64 `json:"weight"`
	// Learnt is what earlier jobs measured (speeds.json on the storage), in
	// the weight's units per slot; the next job starts from it.
	Learnt     *scheduler.LearntSpeed `json:"learnt,omitempty"`
	Slots      int                    `json:"slots"`
	CPUs       float64                `json:"cpus"`
	Memory     int64                  `json:"memory_bytes"`
	Image      bool                   `json:"image"`
	ImageError string                 `json:"image_error,omitempty"`
	Eligible   bool                   `json:"eligible"`
	Reason     string                 `json:"reason,omitempty"`
}

func nodesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sw, asJSON := swarmCommand("nodes", stderr)
	noImage := fs.Bool("no-image-check", false, "skip running the image on every node")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dswarm nodes [--json] [--no-image-check]\n\nLists the swarm's nodes as dswarm sees them: arch, state, weight (label dswarm.weight, else CPUs),\nthe speed earlier jobs learnt (in the weight's units; the next job starts from it), slots (label dswarm.slots, else 1), and whether the worker image runs there (a one-shot service per node).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitForParse(err)
	}
	cli, nodes, _, err := sw.connect(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cli.Close()
	imageErr := map[string]error{}
	if !*noImage {
		imageErr = checkImage(ctx, cli, sw, nodes)
	}
	for i := range nodes {
		nodes[i].HasImage = *noImage || imageErr[nodes[i].Hostname] == nil
	}
	feas := scheduler.Feasible(nodes, nil)
	book, err := loadSpeeds(sw.storage)
	if err != nil {
		fmt.Fprintf(stderr, "dswarm nodes: warning: %v\n", err)
	}
	rows := make([]nodeReport, 0, len(nodes))
	for _, n := range nodes {
		r := nodeReport{Hostname: n.Hostname, ID: n.ID, Arch: n.Arch, State: n.State, Availability: n.Availability,
			Weight: n.Weight, Slots: n.Slots, CPUs: n.CPUs, Memory: n.Memory, Image: n.HasImage}
		if err := imageErr[n.Hostname]; err != nil {
			r.ImageError = err.Error()
		}
		if l, ok := book.Lookup(n); ok {
			r.Learnt = &l
		}
		r.Reason, r.Eligible = feas.Rejected[n.Hostname], feas.Rejected[n.Hostname] == ""
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Hostname < rows[j].Hostname })
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return fail(stderr, err)
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOSTNAME\tID\tARCH\tSTATE\tAVAILABILITY\tWEIGHT\tLEARNT\tSLOTS\tCPUS\tMEMORY\tIMAGE\tELIGIBLE")
	for _, r := range rows {
		img, elig := "yes", "yes"
		if !r.Image {
			img = "no"
		} else if *noImage {
			img = "?"
		}
		if !r.Eligible {
			elig = "no: " + r.Reason
		}
		fmt.Fprintf(tw, "%s\t%.12s\t%s\t%s\t%s\t%g\t%s\t%d\t%g\t%s\t%s\t%s\n", r.Hostname, r.ID, r.Arch, r.State, r.Availability,
			r.Weight, learntColumn(r.Learnt), r.Slots, r.CPUs, stack.FormatMemory(r.Memory), img, elig)
	}
	tw.Flush()
	return 0
}

// learntColumn shows a learnt speed as "4.67 (3 jobs)", or "-" for a node
// never measured (or whose weight label changed since).
func learntColumn(l *scheduler.LearntSpeed) string {
	switch {
	case l == nil:
		return "-"
	case l.Jobs == 1:
		return fmt.Sprintf("%.3g (1 job)", l.Speed)
	}
	return fmt.Sprintf("%.3g (%d jobs)", l.Speed, l.Jobs)
}

// checkImage runs `dswarm version` from the worker image on every ready
// node; a node without the image rejects the task.
func checkImage(ctx context.Context, cli stack.Engine, sw *swarmFlags, nodes []scheduler.Node) map[string]error {
	ready, skipped := activeNodes(nodes)
	out := map[string]error{}
	for h, why := range skipped {
		out[h] = fmt.Errorf("not checked: %s", why)
	}
	id := job.NewJobID()
	defer func() { _ = stack.RemoveJob(context.WithoutCancel(ctx), cli, id) }()
	x := &stack.Executor{Engine: cli, Image: sw.image}
	for h, r := range stack.RunEverywhere(ctx, x, id, "image-check", "dswarm", "", ready, func(scheduler.Node) []string { return []string{"version"} }) {
		out[h] = r.Err
	}
	return out
}

func exitForParse(err error) int {
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	return 2
}

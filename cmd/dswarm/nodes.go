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
	// ImagePlatform and ImageID are the worker image as the node's
	// engine holds it ("linux/arm64/v8").
	ImagePlatform string `json:"image_platform,omitempty"`
	ImageID       string `json:"image_id,omitempty"`
	Eligible      bool   `json:"eligible"`
	Reason        string `json:"reason,omitempty"`
}

func nodesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sw, asJSON := swarmCommand("nodes", stderr)
	noImage := fs.Bool("no-image-check", false, "skip asking every node which worker image it holds")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: dswarm nodes [--json] [--no-image-check]\n\nLists the swarm's nodes as dswarm sees them: arch, state, weight (label dswarm.weight, else CPUs),\nthe speed earlier jobs learnt (in the weight's units; the next job starts from it), slots (label dswarm.slots, else 1), and the worker image each node holds, with its platform and ID (a one-shot probe service per node asks the node's engine);\na node whose image is missing or of another architecture is not eligible.\n\nFlags:")
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
	if !*noImage {
		if err := sw.checkImages(ctx, cli, nodes, 0); err != nil {
			return fail(stderr, err)
		}
	}
	feas := scheduler.Feasible(nodes, nil)
	book, err := loadSpeeds(sw.storage)
	if err != nil {
		fmt.Fprintf(stderr, "dswarm nodes: warning: %v\n", err)
	}
	rows := make([]nodeReport, 0, len(nodes))
	for _, n := range nodes {
		r := nodeReport{Hostname: n.Hostname, ID: n.ID, Arch: n.Arch, State: n.State, Availability: n.Availability,
			Weight: n.Weight, Slots: n.Slots, CPUs: n.CPUs, Memory: n.Memory}
		img := n.Image
		r.Image = !img.Checked || (img.Present && img.Err == "" && img.RunsOn(n.Arch))
		if img.Present && img.Err == "" {
			r.ImagePlatform, r.ImageID = img.Platform(), img.ID
		}
		switch {
		case img.Err != "":
			r.ImageError = img.Err
		case img.Checked && !img.Present:
			r.ImageError = "no " + sw.image + " on the node"
		case !img.Checked && !*noImage:
			r.ImageError = "not checked: node is " + n.State + "/" + n.Availability
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
	byHost := map[string]scheduler.NodeImage{}
	for _, n := range nodes {
		byHost[n.Hostname] = n.Image
	}
	for _, r := range rows {
		img, elig := imageColumn(byHost[r.Hostname]), "yes"
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

func exitForParse(err error) int {
	if errors.Is(err, pflag.ErrHelp) {
		return 0
	}
	return 2
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

const imagesUsage = `Usage:
  dswarm images distribute [--dir DIR] [--json]
                              put the worker image for its architecture on every node: the archives
                              (docker save, one per architecture) in the shared storage's images/ folder
                              are loaded where a node's engine lacks that image, by a one-shot service
                              on the node through its Docker socket; idempotent, reports per node
  dswarm images load TAR REF  (runs inside the worker image on a node: loads TAR and tags it REF)
  dswarm images inspect REF   (runs inside the worker image on a node, with the node's Docker socket:
                               prints the engine's ID and platform of REF as one JSON line)
`

// imagesCmd is `dswarm images ...`.
func imagesCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, imagesUsage)
		return 2
	}
	switch args[0] {
	case "inspect":
		if len(args) != 2 {
			fmt.Fprint(stderr, imagesUsage)
			return 2
		}
		ans, err := stack.InspectLocalImage(ctx, args[1])
		if err != nil {
			return fail(stderr, err)
		}
		if err := json.NewEncoder(stdout).Encode(ans); err != nil {
			return fail(stderr, err)
		}
		return 0
	case "load":
		if len(args) != 3 {
			fmt.Fprint(stderr, imagesUsage)
			return 2
		}
		ans, err := stack.LoadLocalImage(ctx, args[1], args[2])
		if err != nil {
			return fail(stderr, err)
		}
		if err := json.NewEncoder(stdout).Encode(ans); err != nil {
			return fail(stderr, err)
		}
		return 0
	case "distribute":
		return distributeCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, imagesUsage)
		return 0
	}
	fmt.Fprintf(stderr, "dswarm images: unknown command %q\n\n%s", args[0], imagesUsage)
	return 2
}

// connectChecked is connect for commands that run jobs: each node's worker
// image is known (its dswarm.image label when fresh, else a probe on the
// node) before the placement filters run, so that a node without an image
// for its architecture gets no task and the summary says why.
func (s *swarmFlags) connectChecked(ctx context.Context) (stack.Conn, []scheduler.Node, scheduler.Feasibility, error) {
	cli, nodes, _, err := s.connect(ctx)
	if err != nil {
		return nil, nil, scheduler.Feasibility{}, err
	}
	if err := s.checkImages(ctx, cli, nodes, stack.ImageMaxAge); err != nil {
		cli.Close()
		return nil, nil, scheduler.Feasibility{}, err
	}
	return cli, nodes, scheduler.Feasible(nodes, nil), nil
}

// checkImages sets nodes[i].Image for the worker image (see
// stack.NodeImages); maxAge 0 probes every node.
func (s *swarmFlags) checkImages(ctx context.Context, cli stack.Engine, nodes []scheduler.Node, maxAge time.Duration) error {
	id := job.NewJobID()
	defer func() { _ = stack.RemoveJob(context.WithoutCancel(ctx), cli, id) }()
	_, err := stack.NodeImages(ctx, cli, id, s.image, nodes, maxAge, time.Now())
	return err
}

// imageColumn is what `dswarm nodes` shows of a node's image: its platform
// and short ID, "no", or "?" when it was not checked.
func imageColumn(img scheduler.NodeImage) string {
	switch {
	case !img.Checked:
		return "?"
	case !img.Present:
		return "no"
	case img.Err != "":
		return "broken"
	}
	id := img.ID
	if len(id) > 19 {
		id = id[:19] // sha256: and 12 hex digits
	}
	return img.Platform() + " " + id
}

// distributeCmd is `dswarm images distribute`.
func distributeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sw, asJSON := swarmCommand("images distribute", stderr)
	dir := fs.String("dir", "", "folder of image archives, inside the shared storage (default: STORAGE/images)")
	fs.Usage = func() {
		fmt.Fprint(stderr, imagesUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitForParse(err)
	}
	if *dir == "" {
		*dir = filepath.Join(sw.storage, stack.ImagesDir)
	}
	root, err := filepath.Abs(sw.storage)
	if err != nil {
		return fail(stderr, err)
	}
	if *dir, err = filepath.Abs(*dir); err != nil {
		return fail(stderr, err)
	}
	archives, err := stack.Archives(*dir)
	if err != nil {
		return fail(stderr, err)
	}
	mounts, err := sw.mounts()
	if err != nil {
		return fail(stderr, err)
	}
	cli, nodes, _, err := sw.connect(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cli.Close()
	if err := sw.checkImages(ctx, cli, nodes, 0); err != nil {
		return fail(stderr, err)
	}
	active, skipped := scheduler.Active(nodes)
	id := job.NewJobID()
	defer func() { _ = stack.RemoveJob(context.WithoutCancel(ctx), cli, id) }()
	res := stack.Distribute(ctx, cli, id, sw.image, active, archives, root, sw.nodeStorage, mounts[0])
	for h, why := range skipped {
		res = append(res, stack.NodeLoad{Node: h, Error: "not loaded: " + why})
	}
	sort.Slice(res, func(i, j int) bool { return res[i].Node < res[j].Node })
	// What the nodes hold now, and the labels the next job reads.
	if err := sw.checkImages(ctx, cli, nodes, 0); err != nil {
		return fail(stderr, err)
	}
	failed := 0
	for _, r := range res {
		if r.Error != "" {
			failed++
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return fail(stderr, err)
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NODE\tARCH\tARCHIVE\tRESULT")
		for _, r := range res {
			what := r.Did
			if r.Error != "" {
				what = "FAILED: " + r.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Node, r.Arch, filepath.Base(r.Archive), what)
		}
		tw.Flush()
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "dswarm images distribute: %d of %d node(s) failed\n", failed, len(res))
		return 1
	}
	return 0
}

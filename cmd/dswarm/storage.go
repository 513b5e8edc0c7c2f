package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

const storageUsage = `Usage:
  dswarm storage check [--json]   check that every node sees the same shared storage

check writes a random token into tmp/ of the shared storage, runs a one-shot
service on every active node that reads it and writes its own answer back,
and reports every node that does not see the same files: the failure users
hit most (a share not mounted, mounted elsewhere, or mounted read-only).
`

func storageCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "probe" {
		return storageProbe(args[1:], stderr)
	}
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, storageUsage)
		return 2
	}
	fs, sw, asJSON := swarmCommand("storage check", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, storageUsage, "\nFlags:\n"); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		return exitForParse(err)
	}
	cli, nodes, _, err := sw.connect(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cli.Close()
	layout := nfs.Layout{Root: sw.storage}
	if err := layout.Check(ctx); err != nil {
		return fail(stderr, err)
	}
	mounts, err := sw.mounts()
	if err != nil {
		return fail(stderr, err)
	}
	id := job.NewJobID()
	dir := filepath.Join(layout.Tmp(), ".storage-check-"+id)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fail(stderr, fmt.Errorf("storage check: %w", err))
	}
	defer os.RemoveAll(dir)
	token := job.NewJobID() + job.NewJobID()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(token), 0o644); err != nil {
		return fail(stderr, fmt.Errorf("storage check: %w", err))
	}
	active, skipped := scheduler.Active(nodes)
	results := map[string]string{}
	for h, why := range skipped {
		results[h] = "skipped: " + why
	}
	root, _ := filepath.Abs(sw.storage)
	x := &stack.Executor{Engine: cli, Image: sw.image, Mounts: mounts, HostRoot: root, NodeRoot: sw.nodeStorage}
	defer func() { _ = stack.RemoveJob(context.WithoutCancel(ctx), cli, id) }()
	runs := stack.RunEverywhere(ctx, x, id, "storage-check", "dswarm", dir, active, func(n scheduler.Node) []string {
		return []string{"storage", "probe", dir, token, n.Hostname}
	})
	failed := 0
	for _, n := range active {
		res := "ok"
		if err := runs[n.Hostname].Err; err != nil {
			res = "FAILED: " + nfs.Scrub(err.Error(), nfs.MountSecrets(mounts)...)
		} else if got, err := os.ReadFile(filepath.Join(dir, n.Hostname)); err != nil || string(got) != token {
			res = "FAILED: the node's answer is not visible here: it writes to other storage"
		}
		if res != "ok" {
			failed++
		}
		results[n.Hostname] = res
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(results)
	} else {
		names := make([]string, 0, len(results))
		for h := range results {
			names = append(names, h)
		}
		sort.Strings(names)
		for _, h := range names {
			fmt.Fprintf(stdout, "%-20s %s\n", h, results[h])
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "dswarm: storage check: %d of %d nodes do not see the same storage at %s\n", failed, len(active), sw.nodeStorage)
		return 1
	}
	return 0
}

// storageProbe runs on a node: it reads DIR/token, checks it against TOKEN,
// and writes TOKEN to DIR/NODE for the checker to read back.
func storageProbe(args []string, stderr io.Writer) int {
	if len(args) != 3 {
		fmt.Fprintln(stderr, "usage: dswarm storage probe DIR TOKEN NODE")
		return 2
	}
	dir, token, node := args[0], args[1], args[2]
	got, err := os.ReadFile(filepath.Join(dir, "token"))
	if err != nil {
		fmt.Fprintf(stderr, "storage probe on %s: %v (is the share mounted?)\n", node, err)
		return 1
	}
	if string(got) != token {
		fmt.Fprintf(stderr, "storage probe on %s: token differs: another storage is mounted at %s\n", node, dir)
		return 1
	}
	if err := os.WriteFile(filepath.Join(dir, node), []byte(token), 0o644); err != nil {
		fmt.Fprintf(stderr, "storage probe on %s: write: %v\n", node, err)
		return 1
	}
	return 0
}

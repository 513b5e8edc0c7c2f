package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

// swarmFlags are the settings every swarm command shares. Defaults come
// from the environment (.cluster/env sets them for the test swarm).
type swarmFlags struct {
	image       string
	storage     string // where this machine sees the shared storage
	nodeStorage string // where nodes (and task containers) see it
	mode        string
	nfsShare    string // server:/export
	cifsShare   string // //server/share
	cifsCreds   string
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// swarmCommand makes the flag set of a command that talks to the swarm: the
// swarm settings and --json.
func swarmCommand(name string, stderr io.Writer) (*pflag.FlagSet, *swarmFlags, *bool) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	sw := &swarmFlags{}
	sw.register(fs)
	return fs, sw, fs.Bool("json", false, "print JSON")
}

func (s *swarmFlags) register(fs *pflag.FlagSet) {
	node := envOr("DSWARM_STORAGE", nfs.DefaultHostPath)
	fs.StringVar(&s.image, "image", envOr("DSWARM_IMAGE", "dswarm/worker:latest"), "worker image (ffmpeg + dswarm), present on every node ($DSWARM_IMAGE)")
	fs.StringVar(&s.storage, "storage", envOr("DSWARM_STORAGE_HOST", node), "shared storage as this machine sees it ($DSWARM_STORAGE_HOST)")
	fs.StringVar(&s.nodeStorage, "node-storage", node, "shared storage as the nodes see it, mounted from fstab with _netdev ($DSWARM_STORAGE)")
	fs.StringVar(&s.mode, "storage-mode", envOr("DSWARM_STORAGE_MODE", "hostpath"), "how tasks mount the storage: hostpath, nfs or cifs")
	fs.StringVar(&s.nfsShare, "nfs", os.Getenv("DSWARM_NFS"), "NFS export for --storage-mode nfs, as SERVER:/EXPORT")
	fs.StringVar(&s.cifsShare, "cifs", os.Getenv("DSWARM_CIFS"), "CIFS share for --storage-mode cifs, as //SERVER/SHARE")
	fs.StringVar(&s.cifsCreds, "cifs-credentials", os.Getenv("DSWARM_CIFS_CREDENTIALS"), "file with username=/password= lines (e.g. a Docker secret); never on the command line")
}

// mounts returns the storage mount every task gets.
func (s *swarmFlags) mounts() ([]mount.Mount, error) {
	cfg := nfs.Config{Mode: nfs.Mode(s.mode), HostPath: s.nodeStorage, Target: s.nodeStorage}
	switch cfg.Mode {
	case nfs.ModeNFS:
		server, export, ok := strings.Cut(s.nfsShare, ":")
		if !ok {
			return nil, fmt.Errorf("--nfs %q: want SERVER:/EXPORT", s.nfsShare)
		}
		cfg.NFS = nfs.NFS{Server: server, Export: export}
	case nfs.ModeCIFS:
		rest, ok := strings.CutPrefix(s.cifsShare, "//")
		server, share, ok2 := strings.Cut(rest, "/")
		if !ok || !ok2 {
			return nil, fmt.Errorf("--cifs %q: want //SERVER/SHARE", s.cifsShare)
		}
		cfg.CIFS = nfs.CIFS{Server: server, Share: share, CredentialsFile: s.cifsCreds}
	}
	var cred nfs.Credentials
	if cfg.Mode == nfs.ModeCIFS {
		var err error
		if cred, err = cfg.LoadCredentials(); err != nil {
			return nil, err
		}
	}
	m, err := cfg.Mount(cred)
	if err != nil {
		return nil, err
	}
	return []mount.Mount{m}, nil
}

// connect opens the swarm manager and lists the nodes that may run tasks.
func (s *swarmFlags) connect(ctx context.Context) (stack.Conn, []scheduler.Node, scheduler.Feasibility, error) {
	cli, err := stack.Connect(ctx)
	if err != nil {
		return nil, nil, scheduler.Feasibility{}, err
	}
	nodes, err := stack.Nodes(ctx, cli)
	if err != nil {
		cli.Close()
		return nil, nil, scheduler.Feasibility{}, err
	}
	return cli, nodes, scheduler.Feasible(nodes, nil), nil
}

// executor is a job's swarm executor over the feasible nodes, tasks
// mounting the shared storage (root is where this machine sees it). Unless
// the job has a segment length, the sizing model chooses it from the slots.
func (s *swarmFlags) executor(cli stack.Conn, feas scheduler.Feasibility, mounts []mount.Mount, root string, cfg *job.Config) (*stack.Executor, error) {
	if len(feas.Nodes) == 0 {
		return nil, fmt.Errorf("%w: %s", scheduler.ErrNoFeasibleNode, feas.Explain())
	}
	if cfg.SegmentDuration == 0 {
		cfg.Sizing = &scheduler.SizingModel{Startup: swarmTaskStartup}
		for _, n := range feas.Nodes {
			cfg.Slots += max(n.Slots, 1)
		}
	}
	return &stack.Executor{
		Engine:   cli,
		Image:    s.image,
		Nodes:    feas.Nodes,
		Mounts:   mounts,
		HostRoot: root,
		NodeRoot: s.nodeStorage,
		Rejected: feas.Rejected,
		Startup:  swarmTaskStartup,
		// Each node's overlay network stays up between tasks and jobs.
		HoldNetwork: true,
	}, nil
}

// stageInput makes sure the input is on the shared storage: a file already
// there is used in place; any other is copied into upload/. The returned
// cleanup removes a copy dswarm made.
func stageInput(input, storage, jobID string, log io.Writer) (string, func(), error) {
	abs, err := filepath.Abs(input)
	if err != nil {
		return "", nil, err
	}
	root, err := filepath.Abs(storage)
	if err != nil {
		return "", nil, err
	}
	if rel, err := filepath.Rel(root, abs); err == nil && filepath.IsLocal(rel) {
		return abs, func() {}, nil
	}
	in, err := os.Open(abs)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil, fmt.Errorf("input %s: no such file", input)
		}
		return "", nil, fmt.Errorf("input %s: %w", input, err)
	}
	defer in.Close()
	dst := filepath.Join(root, nfs.UploadDir, jobID+"-"+filepath.Base(abs))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", nil, fmt.Errorf("copy input into shared storage: %w", err)
	}
	start := time.Now()
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	cleanup := func() { os.Remove(dst) }
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("copy input into shared storage %s: %w", dst, err)
	}
	fmt.Fprintf(log, "dswarm: copied %s into shared storage (%s in %.1fs)\n", input, stack.FormatMemory(n), time.Since(start).Seconds())
	return dst, cleanup, nil
}

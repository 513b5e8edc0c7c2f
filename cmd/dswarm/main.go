// Command dswarm transcodes one video many times faster by cutting it into
// segments at keyframes, encoding them in parallel (local processes or
// Docker Swarm services) and joining them frame-exactly.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/dswarm/dswarm/nfs"
)

const usage = `dswarm: distributed FFmpeg transcoding on Docker Swarm

Usage:
  dswarm transcode [flags] INPUT [ffmpeg output options...]
  dswarm serve [flags]
  dswarm jobs | job ID | cancel ID
  dswarm nodes [--json]
  dswarm images distribute [--json]
  dswarm storage check [--json]
  dswarm bench [--dry-run] [--json]
  dswarm simulate --node-speeds 48,36,12 --segments 120 [--slowdown 1:3@150] [--json]
  dswarm version
  dswarm help [command]

Commands:
  transcode   cut INPUT into segments, encode them in parallel, join, verify: through the scheduler
              (--server / $DSWARM_SERVER), or directly with --local or --swarm
  serve       the scheduler sidecar: job queue, HTTP API, web page, metrics (runs in the stack)
  jobs        list the scheduler's jobs; job ID shows one, cancel ID cancels one
  nodes       list the swarm's nodes: arch, state, weight, slots, CPUs, memory, image present
  storage     check that every node sees the same shared storage
  images      distribute: load the worker image for its architecture on every node from the storage's images/
  bench       measure every node's encoding speed and label it dswarm.weight
  simulate    compare scheduling policies on a simulated job (no Docker)
  version     print the version

Run 'dswarm transcode --help' for the transcode flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "transcode":
		return transcodeCmd(ctx, args[1:], stdout, stderr)
	case "serve":
		return serveCmd(ctx, args[1:], stdout, stderr)
	case "healthcheck": // the stack's healthcheck for serve
		return healthCmd(ctx, args[1:], stdout, stderr)
	case "jobs":
		return jobsCmd(ctx, args[1:], stdout, stderr)
	case "job":
		return jobCmd(ctx, args[1:], stdout, stderr, false)
	case "cancel":
		return jobCmd(ctx, args[1:], stdout, stderr, true)
	case "nodes":
		return nodesCmd(ctx, args[1:], stdout, stderr)
	case "storage":
		return storageCmd(ctx, args[1:], stdout, stderr)
	case "simulate":
		return simulateCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "bench-node": // runs inside the worker image, for dswarm bench
		return benchNode(ctx, args[1:], stdout, stderr)
	case "images":
		return imagesCmd(ctx, args[1:], stdout, stderr)
	case "standby": // runs inside the worker image: a swarm task started ahead
		return standbyCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		if len(args) > 1 && args[1] == "transcode" {
			return transcodeCmd(ctx, []string{"--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "dswarm: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// fail prints err as one line and returns the exit code for it.
func fail(stderr io.Writer, err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "dswarm: cancelled; temporary files and partial output removed")
		return 130
	}
	fmt.Fprintf(stderr, "dswarm: %s\n", nfs.Scrub(err.Error()))
	return 1
}

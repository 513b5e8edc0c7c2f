package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/pflag"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/server"
	"github.com/dswarm/dswarm/stack"
)

const serveUsage = `Usage: dswarm serve [flags]

Runs the scheduler sidecar on a manager node (docker-compose.swarm.yml runs
it in the stack): an HTTP API to submit, follow, cancel and download jobs, a
live web page at /, server-sent events, Prometheus metrics at /metrics and
the API's OpenAPI description at /openapi.yaml. Jobs wait in a queue and run
--max-jobs at once, sharing the nodes' slots fairly. Each job's state is
written to the shared storage (jobs/ID.json) after every change: a scheduler
that is killed or restarted adopts its jobs' running services, keeps the
segments already done and finishes the jobs.

A job may be an ABR ladder ("ladder": "720p:3M,360p:600k" in the request,
or the page's ladder field), packaged as HLS and DASH in a folder of
download/: the page shows each rung's progress and, once verified, plays
the smallest rung. A resumed ladder starts again from its first task.

The token (every endpoint but /healthz needs it) comes from --token-file, by
default the Docker secret /run/secrets/dswarm_token, or $DSWARM_TOKEN.

Flags:
`

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sw, _ := swarmCommand("serve", stderr)
	listen := fs.String("listen", envOr("DSWARM_LISTEN", ":8090"), "address to serve the API on ($DSWARM_LISTEN)")
	tokenFile := fs.String("token-file", envOr("DSWARM_TOKEN_FILE", "/run/secrets/dswarm_token"), "file holding the API token ($DSWARM_TOKEN_FILE; $DSWARM_TOKEN if the file is absent)")
	maxJobs := fs.Int("max-jobs", 2, "jobs run at once; the others wait in the queue")
	maxUpload := fs.String("max-upload", "20GiB", "largest upload accepted")
	fs.Usage = func() {
		fmt.Fprint(stderr, serveUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	limit, err := units.RAMInBytes(*maxUpload)
	if err != nil || limit <= 0 {
		fmt.Fprintf(stderr, "dswarm serve: --max-upload %q: want a size such as 20GiB\n", *maxUpload)
		return 2
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		return fail(stderr, err)
	}
	root, err := filepath.Abs(sw.storage)
	if err != nil {
		return fail(stderr, err)
	}
	cli, err := stack.Connect(ctx)
	if err != nil {
		return fail(stderr, err)
	}
	defer cli.Close()
	mounts, err := sw.mounts()
	if err != nil {
		return fail(stderr, err)
	}
	pool := stack.NewPool()
	// executor readies a job's executor on the nodes as they are now (their
	// images checked), sharing the slots with the other jobs (pool), and
	// returns what removes the job's services at its end: finished, failed
	// or cancelled, no service of a job outlives it.
	executor := func(ctx context.Context, id string, cfg *job.Config) (*stack.Executor, scheduler.Feasibility, func(), error) {
		nodes, err := stack.Nodes(ctx, cli)
		if err != nil {
			return nil, scheduler.Feasibility{}, nil, err
		}
		if err := sw.checkImages(ctx, cli, nodes, stack.ImageMaxAge); err != nil {
			return nil, scheduler.Feasibility{}, nil, err
		}
		feas := scheduler.Feasible(nodes, nil)
		x, err := sw.executor(cli, feas, mounts, root, cfg)
		if err != nil {
			return nil, feas, nil, err
		}
		x.Pool = pool
		end := func() {
			pool.Leave(id)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			if rerr := stack.RemoveJob(rctx, cli, id); rerr != nil {
				fmt.Fprintf(stderr, "dswarm serve: warning: %v\n", rerr)
			}
		}
		return x, feas, end, nil
	}
	runJob := func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error) {
		x, _, end, err := executor(ctx, cfg.JobID, &cfg)
		if err != nil {
			return nil, err
		}
		defer end()
		if x.Speeds, err = loadSpeeds(root); err != nil {
			fmt.Fprintf(stderr, "dswarm serve: warning: %v; starting from the weights\n", err)
		}
		if resume {
			if err := x.Adopt(ctx, cfg.JobID); err != nil {
				return nil, err
			}
		}
		sum, err := job.Run(ctx, cfg, x)
		if serr := saveLearnt(root, x, time.Now()); serr != nil {
			fmt.Fprintf(stderr, "dswarm serve: warning: learnt node speeds not kept: %v\n", serr)
		}
		return sum, err
	}
	runLadder := func(ctx context.Context, lc job.LadderConfig, resume bool) (*job.LadderSummary, error) {
		x, feas, end, err := executor(ctx, lc.JobID, &job.Config{SegmentDuration: lc.SegmentDuration})
		if err != nil {
			return nil, err
		}
		defer end()
		if resume {
			// A ladder is not adopted: a resumed one starts again, without
			// the services an earlier scheduler left.
			if err := stack.RemoveJob(ctx, cli, lc.JobID); err != nil {
				return nil, err
			}
		}
		for _, n := range feas.Nodes {
			lc.Workers += max(n.Slots, 1)
		}
		return job.RunLadder(ctx, lc, x)
	}
	listNodes := func(ctx context.Context) ([]server.Node, error) {
		nodes, err := stack.Nodes(ctx, cli)
		if err != nil {
			return nil, err
		}
		// The last answers of the nodes' probes (no probe here: the page
		// polls this).
		if err := stack.LabelledImages(ctx, cli, sw.image, nodes); err != nil {
			return nil, err
		}
		feas := scheduler.Feasible(nodes, nil)
		var out []server.Node
		for _, n := range nodes {
			why, rejected := feas.Rejected[n.Hostname]
			out = append(out, server.Node{Hostname: n.Hostname, Arch: n.Arch, State: n.State + "/" + n.Availability,
				Weight: n.Weight, Slots: max(n.Slots, 1), Eligible: !rejected, Reason: why})
		}
		return out, nil
	}
	s, err := server.New(server.Options{Root: root, Token: token, MaxUpload: limit, MaxJobs: *maxJobs, Run: runJob, RunLadder: runLadder, Nodes: listNodes, Log: stderr, Secrets: nfs.MountSecrets(mounts)})
	if err != nil {
		return fail(stderr, err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail(stderr, fmt.Errorf("listen on %s: %w", *listen, err))
	}
	fmt.Fprintf(stderr, "dswarm serve: listening on %s, storage %s, %d job(s) at once\n", ln.Addr(), root, *maxJobs)
	// Jobs run on a context of their own: when this process is told to stop
	// (SIGTERM on a stack update), it exits without cancelling them, so
	// their services keep running and the next scheduler adopts them.
	s.Start(context.WithoutCancel(ctx))
	srv := s.HTTPServer()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fail(stderr, err)
	}
	fmt.Fprintln(stderr, "dswarm serve: stopped; running jobs continue on the swarm and are resumed by the next scheduler")
	return 0
}

// readToken reads the API token from file, else from $DSWARM_TOKEN.
func readToken(file string) (string, error) {
	if b, err := os.ReadFile(file); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("token file %s is empty", file)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("token file %s: %w", file, err)
	}
	if t := os.Getenv("DSWARM_TOKEN"); t != "" {
		return t, nil
	}
	return "", fmt.Errorf("no API token: %s does not exist and $DSWARM_TOKEN is empty", file)
}

// healthCmd checks a scheduler's /healthz: the stack's healthcheck (the
// image has no curl).
func healthCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	url := "http://127.0.0.1:8090/healthz"
	if len(args) > 0 {
		url = args[0]
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return fail(stderr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fail(stderr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fail(stderr, fmt.Errorf("%s: HTTP %d", url, resp.StatusCode))
	}
	fmt.Fprintln(stdout, "ok")
	return 0
}

package stack

import (
	"context"
	"sync"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
)

// NodeRun is one node's outcome of RunEverywhere.
type NodeRun struct {
	Err    error    // nil: it ran and exited 0
	Output []string // its last output lines
}

// RunEverywhere runs one task on every node at once, each pinned to its
// node, and returns each node's outcome by hostname. args builds the task's
// arguments for a node. The tasks may write only into dir, a folder on the
// shared storage ("" = nowhere).
func RunEverywhere(ctx context.Context, base *Executor, jobID, name, program, dir string, nodes []scheduler.Node, args func(scheduler.Node) []string) map[string]NodeRun {
	out := make(map[string]NodeRun, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := &Executor{
				Engine: base.Engine, Image: base.Image, Mounts: base.Mounts,
				HostRoot: base.HostRoot, NodeRoot: base.NodeRoot, User: base.User,
				Poll: base.Poll, PendingTimeout: base.PendingTimeout,
				Nodes: []scheduler.Node{n},
			}
			var res job.TaskResult
			err := x.Confine("", dir, "")
			if err == nil {
				res, err = x.Run(ctx, job.Task{JobID: jobID, Name: name + "-" + n.Hostname, Role: job.Role(name),
					Segment: -1, Attempt: 1, Program: program, Args: args(n), CaptureOutput: true})
			}
			mu.Lock()
			out[n.Hostname] = NodeRun{Err: err, Output: res.Output}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

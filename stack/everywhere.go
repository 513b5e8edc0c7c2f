package stack

import (
	"context"
	"sync"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
)

// RunEverywhere runs one task on every node at once, each pinned to its
// node, and returns each node's error by hostname (nil: it ran and exited 0).
// args builds the task's arguments for a node.
func RunEverywhere(ctx context.Context, base *Executor, jobID, name, program string, nodes []scheduler.Node, args func(scheduler.Node) []string) map[string]error {
	out := make(map[string]error, len(nodes))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := &Executor{
				Engine: base.Engine, Image: base.Image, Mounts: base.Mounts,
				HostRoot: base.HostRoot, NodeRoot: base.NodeRoot,
				Poll: base.Poll, PendingTimeout: base.PendingTimeout,
				Nodes: []scheduler.Node{n},
			}
			_, err := x.Run(ctx, job.Task{JobID: jobID, Name: name + "-" + n.Hostname, Role: job.Role(name),
				Segment: -1, Attempt: 1, Program: program, Args: args(n)})
			mu.Lock()
			out[n.Hostname] = err
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

package stack

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dswarm/dswarm/job"
)

// adoptable is a service of the job that was running before a restart.
type adoptable struct {
	serviceID, name string
	node            int // index in x.Nodes
}

// Adopt finds the job's services left by an earlier run of the scheduler:
// a task that a service still runs (or finished) is waited for instead of
// started again. Backup copies are removed: their race cannot be rebuilt.
// Call it after Place and before Run.
func (x *Executor) Adopt(ctx context.Context, jobID string) error {
	svcs, err := JobServices(ctx, x.Engine, jobID)
	if err != nil {
		return fmt.Errorf("list services of job %s: %w", jobID, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.adopt == nil {
		x.adopt = map[string]adoptable{}
	}
	prefix := "dswarm-" + jobID + "-"
	for _, s := range svcs {
		name := strings.TrimPrefix(s.Spec.Name, prefix)
		if i := strings.LastIndex(name, "-a"); i > 0 {
			name = name[:i]
		}
		node := -1
		for _, c := range s.Spec.TaskTemplate.Placement.Constraints {
			if id, ok := strings.CutPrefix(c, "node.id=="); ok {
				for i, n := range x.Nodes {
					if n.ID == id && !x.lost[n.ID] {
						node = i
					}
				}
			}
		}
		if _, dup := x.adopt[name]; dup || node < 0 || strings.HasSuffix(name, "-backup") {
			_ = x.Engine.ServiceRemove(ctx, s.ID)
			continue
		}
		x.adopt[name] = adoptable{serviceID: s.ID, name: s.Spec.Name, node: node}
	}
	return nil
}

// Skip implements job.Skipper: segment i needs no task.
func (x *Executor) Skip(i int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.d != nil {
		x.d.Skip(i)
	}
}

// adopted takes the adoptable service for task t, if there is one; the
// dispatcher no longer hands out its segment.
func (x *Executor) adopted(t job.Task) (adoptable, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	a, ok := x.adopt[t.Name]
	if !ok {
		return a, false
	}
	delete(x.adopt, t.Name)
	if t.Role == job.RoleSegment && x.d != nil {
		x.d.Skip(t.Segment)
	}
	x.d.Hold(a.node, 1)
	x.Pool.Take(x.jobID, x.Nodes[a.node].ID, time.Now()) // may overcommit once: the task runs already
	return a, true
}

// runAdopted waits for an adopted service as if this run had started it.
func (x *Executor) runAdopted(ctx context.Context, t job.Task, a adoptable) (job.TaskResult, error) {
	node := x.Nodes[a.node]
	defer func() {
		x.mu.Lock()
		x.d.Hold(a.node, -1)
		x.mu.Unlock()
		x.Pool.Release(x.jobID, node.ID)
		x.tick(true)
	}()
	if t.OnStart != nil {
		t.OnStart(node.Hostname)
	}
	res := job.TaskResult{Node: node.Hostname, Started: time.Now()}
	err := x.await(ctx, t, a.serviceID, a.name, node, t.OnProgress, &res)
	return res, err
}

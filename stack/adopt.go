package stack

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dswarm/dswarm/job"
)

// adoptable is a service of the job that was running before a restart.
type adoptable struct {
	serviceID, name string
	node            int  // index in x.Nodes
	gated           bool // it runs its command behind a gate (serviceGate)
}

// Adopt finds the job's services left by an earlier run of the scheduler:
// a task that a service still runs (or finished) is waited for instead of
// started again. Services are found by their labels: dswarm.job for the job,
// dswarm.role and dswarm.segment for the task they run; the node is the one
// their node.id constraint pins them to. Backup copies (named "-backup") are
// removed, as are services on lost nodes, duplicates and services without a
// task's labels: their race cannot be rebuilt. Call it after Place and
// before Run.
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
	for _, s := range svcs {
		key, ok := serviceTask(s.Spec.Labels)
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
		_, dup := x.adopt[key]
		if !ok || dup || node < 0 || strings.Contains(s.Spec.Name, "-backup-a") {
			_ = x.Engine.ServiceRemove(ctx, s.ID)
			continue
		}
		gated := isStandbyCommand(s.Spec.TaskTemplate.ContainerSpec.Command)
		x.adopt[key] = adoptable{serviceID: s.ID, name: s.Spec.Name, node: node, gated: gated}
	}
	return nil
}

// serviceTask is the task a service runs, from its dswarm.role and
// dswarm.segment labels; ok is false when they do not name one.
func serviceTask(labels map[string]string) (key string, ok bool) {
	role := job.Role(labels[LabelRole])
	switch role {
	case job.RoleSegment, job.RoleAnalysis:
		seg, err := strconv.Atoi(labels[LabelSegment])
		if err != nil || seg < 0 {
			return "", false
		}
		return taskKey(role, seg), true
	case job.RoleAudio, job.RoleMerge:
		return taskKey(role, -1), true
	}
	return "", false
}

// taskKey identifies a task of a job across scheduler restarts: its role
// and segment, as its service's labels record them.
func taskKey(role job.Role, segment int) string {
	if role != job.RoleSegment && role != job.RoleAnalysis {
		segment = -1
	}
	return fmt.Sprintf("%s %d", role, segment)
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
	key := taskKey(t.Role, t.Segment)
	a, ok := x.adopt[key]
	if !ok {
		return a, false
	}
	delete(x.adopt, key)
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
	gate := ""
	x.mu.Lock()
	workDir := x.workDir
	x.mu.Unlock()
	if a.gated && workDir != "" {
		gate = serviceGate(x.HostRoot, workDir, a.name)
		defer removeGate(gate)
	}
	err := x.await(ctx, t, a.serviceID, a.name, gate, node, t.OnProgress, &res, false)
	return res, err
}

package stack

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
)

// A keeper holds IsolatedNetwork open on a node while a job runs there.
// A worker sets an overlay network up when the first container on it joins
// and tears it down when the last one leaves, so without a keeper every
// task that follows another on a node waits for the network again: on the
// test swarm, the node created the network, destroyed it as the last
// task's container went, and created it again 2.6 s later, and a 0.3 s
// encode took 5-8 s from service creation to its end.
//
// A keeper is a container that sleeps, attached to the network, reserving
// nothing, with the tasks' confinement. It lives keeperLife and is renewed
// while its service still exists (RemoveJob removes it with the job's
// other services), so a keeper left by a dswarm that was killed ends on
// its own.
const keeperLife = 15 * time.Minute

// RoleKeeper is the dswarm.role of a keeper's service.
const RoleKeeper = "keeper"

// keeperSpec is node n's keeper for a job, the gen-th of its line; pure.
func keeperSpec(jobID, image, user string, index int, n scheduler.Node, gen int) swarm.ServiceSpec {
	spec := ServiceSpec(TaskSpec{
		JobID:    jobID,
		Name:     "keep-" + strconv.Itoa(index),
		Role:     RoleKeeper,
		Segment:  -1,
		Attempt:  gen,
		Image:    image,
		Command:  []string{"sleep", strconv.Itoa(int(keeperLife.Seconds()))},
		NodeID:   n.ID,
		NodeArch: n.Arch,
		User:     user,
	})
	spec.TaskTemplate.Placement.Platforms = ImagePlatforms(n.Image)
	// sleep as PID 1 ignores SIGTERM: removal need not wait for it.
	spec.TaskTemplate.ContainerSpec.StopSignal = "SIGKILL"
	return spec
}

// keepNetwork starts a keeper on every node of the job, once per job; it
// runs at the job's first tasks, after Adopt has cleared what an earlier
// run left. The first keepers exist before any task's service is made, so
// the job cannot end, and RemoveJob list its services, before they do.
func (x *Executor) keepNetwork(jobID string) {
	x.mu.Lock()
	if !x.KeepNetwork || x.d == nil {
		x.mu.Unlock()
		return // not a placed job (a storage check)
	}
	if x.keptFor == jobID {
		made := x.keepersMade
		x.mu.Unlock()
		<-made
		return
	}
	x.keptFor = jobID
	done := make(chan struct{})
	x.keepersMade = done
	var nodes []scheduler.Node
	for _, n := range x.Nodes {
		if !x.lost[n.ID] {
			nodes = append(nodes, n)
		}
	}
	x.mu.Unlock()
	var made sync.WaitGroup
	for i, n := range nodes {
		made.Add(1)
		go x.runKeeper(jobID, i, n, sync.OnceFunc(made.Done))
	}
	made.Wait()
	close(done)
}

// needsKeepers reports whether task t needs the job's keepers: where the
// standbys bridge the gaps between a node's tasks they are not needed (a
// node's next segment, and the merge, run in a standby started before the
// task before it ends; the warm standby holds the network from the job's
// start; the audio runs beside a segment), and a keeper would only cost
// its node a container (0.3-0.4 s of the engine's CPU, measured). The
// analysis rounds of a bitrate target run as new services one after
// another, and without keepers a two-node job at -b:v took 41.5-42.3 s
// against 36.6-38.3 s.
func (x *Executor) needsKeepers(t job.Task) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	standbys := !x.NoStandby && !x.standbyOff && x.workDir != ""
	return !standbys || t.Role == job.RoleAnalysis
}

// runKeeper creates node n's keeper (then calls made) and renews it a
// minute before it ends, for as long as its service is still there.
// Keepers only save time: one that cannot be made is left out.
func (x *Executor) runKeeper(jobID string, index int, n scheduler.Node, made func()) {
	defer made()
	ctx := context.Background()
	prev := ""
	defer func() {
		if prev != "" {
			_ = x.Engine.ServiceRemove(ctx, prev)
		}
	}()
	if err := x.ensureNetwork(ctx); err != nil {
		return
	}
	for gen := 1; ; gen++ {
		spec := keeperSpec(jobID, x.Image, x.taskUser(), index, n, gen)
		created, err := x.Engine.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false})
		if err != nil {
			return // a name taken by a keeper of an earlier run keeps the network too
		}
		if prev != "" {
			_ = x.Engine.ServiceRemove(ctx, prev)
		}
		prev = created.ID
		made()
		time.Sleep(x.keeperRenew())
		if !x.serviceExists(ctx, prev) {
			prev = ""
			return // removed with its job
		}
	}
}

// keeperRenew is how long a keeper runs before the next one is made.
func (x *Executor) keeperRenew() time.Duration {
	if x.KeeperRenew > 0 {
		return x.KeeperRenew
	}
	return keeperLife - time.Minute
}

// serviceExists reports whether service id is still in the swarm (an
// error that is not an answer counts as yes).
func (x *Executor) serviceExists(ctx context.Context, id string) bool {
	svcs, err := x.Engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("id", id))})
	if err != nil {
		return true
	}
	for _, s := range svcs {
		if s.ID == id {
			return true
		}
	}
	return false
}

package stack

import (
	"context"
	"sync"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"

	"github.com/dswarm/dswarm/scheduler"
)

// A holder keeps IsolatedNetwork set up on a node between tasks and
// between jobs. A worker sets an overlay network up when the first
// container on it joins and tears it down when the last one leaves, and on
// the test swarm that costs the node's first container of every job
// 1.2-2.1 s more to start and 0.9-1.7 s more of its node's CPU (a `true`
// service took 3.1-3.6 s and 2.1-2.6 s of CPU with the network down,
// 1.5-1.9 s and 0.9-1.2 s with it held), and every task that followed
// another without a standby between them paid it again.
//
// A holder is one service per node, `sleep infinity` attached to the
// network, reserving nothing, with the tasks' confinement and no mounts.
// It belongs to no job, so RemoveJob leaves it: a job makes the holders its
// nodes lack, and the next job finds them; a job also removes the holders
// of nodes no longer in the swarm. Swarm restarts one whose node
// rebooted. A sleeping container costs its node a few MB of memory and no
// CPU; `docker service rm $(docker service ls -q --filter
// label=dswarm.role=holder)` removes them all, and the next job makes them
// again.
const RoleHolder = "holder"

// LabelNode is a holder's node ID, so that a job finds which nodes have one.
const LabelNode = "dswarm.node"

// holderSpec is node n's holder; pure.
func holderSpec(image, user string, n scheduler.Node) swarm.ServiceSpec {
	spec := ServiceSpec(TaskSpec{
		Role:     RoleHolder,
		Segment:  -1,
		Attempt:  1,
		Image:    image,
		Command:  []string{"sleep", "infinity"},
		NodeID:   n.ID,
		NodeArch: n.Arch,
		User:     user,
	})
	spec.Name = "dswarm-holder-" + n.ID
	// One label map serves the service and its container: neither carries
	// a job's label, which is what RemoveJob and the clean-up checks look
	// for.
	delete(spec.Labels, LabelJob)
	delete(spec.Labels, LabelAttempt)
	spec.Labels[LabelNode] = n.ID
	spec.TaskTemplate.Placement.Platforms = ImagePlatforms(n.Image)
	// sleep as PID 1 ignores SIGTERM: removal need not wait for it.
	spec.TaskTemplate.ContainerSpec.StopSignal = "SIGKILL"
	delay := 10 * time.Second
	spec.TaskTemplate.RestartPolicy = &swarm.RestartPolicy{Condition: swarm.RestartPolicyConditionAny, Delay: &delay}
	return spec
}

// dropOrphanHolders removes the holders of nodes that have left the swarm:
// their services would wait for them for good.
func (x *Executor) dropOrphanHolders(ctx context.Context, holders []swarm.Service) {
	nodes, err := x.Engine.NodeList(ctx, swarm.NodeListOptions{})
	if err != nil || len(nodes) == 0 {
		return
	}
	in := map[string]bool{}
	for _, n := range nodes {
		in[n.ID] = true
	}
	for _, s := range holders {
		if !in[s.Spec.Labels[LabelNode]] {
			_ = x.Engine.ServiceRemove(ctx, s.ID)
		}
	}
}

// holdNetwork makes the holders that the job's nodes lack, once per
// executor. Holders only save time: one that cannot be made is left out,
// and a name another dswarm took a moment ago is that dswarm's holder.
func (x *Executor) holdNetwork() {
	x.mu.Lock()
	if !x.HoldNetwork || x.held {
		x.mu.Unlock()
		return
	}
	x.held = true
	var nodes []scheduler.Node
	for _, n := range x.Nodes {
		if !x.lost[n.ID] {
			nodes = append(nodes, n)
		}
	}
	x.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	have, err := x.Engine.ServiceList(ctx, swarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", LabelRole+"="+RoleHolder))})
	if err != nil {
		return
	}
	held := map[string]bool{}
	for _, s := range have {
		held[s.Spec.Labels[LabelNode]] = true
	}
	x.dropOrphanHolders(ctx, have)
	if err := x.ensureNetwork(ctx); err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		if held[n.ID] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = x.Engine.ServiceCreate(ctx, holderSpec(x.Image, x.taskUser(), n), swarm.ServiceCreateOptions{QueryRegistry: false})
		}()
	}
	wg.Wait()
}

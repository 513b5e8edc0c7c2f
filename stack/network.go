package stack

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
)

// IsolatedNetwork is the one network every task is attached to: an
// internal overlay network, made once per swarm. A container whose only
// network is internal gets no default route and no gateway bridge: it
// reaches neither the nodes, their Docker APIs, the LAN nor the internet,
// only other dswarm tasks attached to the same overlay.
//
// Why not network "none": Docker 20.10's swarm accepts only the predefined
// networks "host" and "bridge" by name ("could not find the corresponding
// predefined swarm network: network none not found"), and a service with no
// network at all gets the node's default bridge, with NAT to everywhere.
const IsolatedNetwork = "dswarm-isolated"

// isolatedNetworkOptions is how IsolatedNetwork is made; pure.
func isolatedNetworkOptions() network.CreateOptions {
	return network.CreateOptions{
		Driver:   "overlay",
		Scope:    "swarm",
		Internal: true,
		Labels:   map[string]string{"dswarm.network": "isolated"},
	}
}

// EnsureIsolatedNetwork makes IsolatedNetwork unless the swarm has it.
func EnsureIsolatedNetwork(ctx context.Context, e Engine) error {
	have := func() (bool, error) {
		list, err := e.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", IsolatedNetwork))})
		if err != nil {
			return false, err
		}
		for _, n := range list {
			if n.Name == IsolatedNetwork { // the filter matches prefixes too
				if !n.Internal {
					return false, fmt.Errorf("network %s exists but is not internal: tasks would reach the outside; remove it (docker network rm %s)", IsolatedNetwork, IsolatedNetwork)
				}
				return true, nil
			}
		}
		return false, nil
	}
	ok, err := have()
	if err != nil {
		return fmt.Errorf("list networks: %w", err)
	}
	if ok {
		return nil
	}
	if _, err := e.NetworkCreate(ctx, IsolatedNetwork, isolatedNetworkOptions()); err != nil {
		// Another dswarm may have made it a moment ago.
		if ok, lerr := have(); lerr == nil && ok {
			return nil
		}
		return fmt.Errorf("create network %s: %w", IsolatedNetwork, err)
	}
	return nil
}

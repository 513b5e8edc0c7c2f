package stack

import (
	"context"
	"errors"
	"testing"

	"github.com/docker/docker/api/types/network"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// netFake is an engine with networks only.
type netFake struct {
	Engine
	nets    []network.Summary
	created []string
	failAdd bool
}

func (f *netFake) NetworkList(_ context.Context, opts network.ListOptions) ([]network.Summary, error) {
	return f.nets, nil
}

func (f *netFake) NetworkCreate(_ context.Context, name string, opts network.CreateOptions) (network.CreateResponse, error) {
	if f.failAdd {
		return network.CreateResponse{}, errors.New("conflict")
	}
	f.created = append(f.created, name)
	f.nets = append(f.nets, network.Summary{Name: name, Internal: opts.Internal, Driver: opts.Driver})
	return network.CreateResponse{ID: "n1"}, nil
}

func TestEnsureIsolatedNetwork(t *testing.T) {
	ctx := context.Background()
	f := &netFake{nets: []network.Summary{{Name: IsolatedNetwork + "-other"}}}
	require.NoError(t, EnsureIsolatedNetwork(ctx, f))
	assert.Equal(t, []string{IsolatedNetwork}, f.created, "a name filter's prefix match is not the network")
	require.NoError(t, EnsureIsolatedNetwork(ctx, f))
	assert.Len(t, f.created, 1, "made once")

	open := &netFake{nets: []network.Summary{{Name: IsolatedNetwork, Internal: false}}}
	assert.ErrorContains(t, EnsureIsolatedNetwork(ctx, open), "not internal", "a look-alike with a route out is refused")

	lost := &netFake{failAdd: true}
	assert.Error(t, EnsureIsolatedNetwork(ctx, lost))
}

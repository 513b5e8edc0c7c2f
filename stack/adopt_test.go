package stack

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/scheduler"
)

// ServiceList honours the "id" and "label" (key or key=value) filters, as
// the engine does.
func (f *fakeEngine) ServiceList(_ context.Context, opts swarm.ServiceListOptions) ([]swarm.Service, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []swarm.Service
	for id, spec := range f.live {
		if opts.Filters.Len() > 0 {
			if ids := opts.Filters.Get("id"); len(ids) > 0 && !slices.Contains(ids, id) {
				continue
			}
			if !opts.Filters.MatchKVList("label", spec.Labels) {
				continue
			}
		}
		out = append(out, swarm.Service{ID: id, Spec: spec})
	}
	return out, nil
}

// TestAdoptAfterRestart: services an earlier scheduler started for the job
// are waited for, not started again; a backup copy is removed; the
// dispatcher never hands out an adopted segment; other segments run anew.
func TestAdoptAfterRestart(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		f := newFake(nil)
		trueSpeed(f, map[string]float64{"n1": 40, "n2": 40, "n3": 40}, 25, 50*time.Millisecond)
		dir := t.TempDir()
		// What the earlier scheduler left running: segment 1 on node2 (under
		// a name this version would not give it: the labels say which task it
		// runs), a backup of segment 2 on node3, and a service with the job's
		// label but no task's.
		left := func(name string, seg int, node scheduler.Node, change func(*swarm.ServiceSpec)) {
			out := filepath.Join(dir, name+".nut")
			spec := ServiceSpec(TaskSpec{JobID: "j", Name: name, Role: "segment", Segment: seg, Attempt: 1, Image: "img",
				Command: []string{"ffmpeg", out}, NodeID: node.ID, NodeArch: node.Arch})
			change(&spec)
			_, err := f.ServiceCreate(context.Background(), spec, swarm.ServiceCreateOptions{})
			require.NoError(t, err)
		}
		nodes := testNodes()
		left("seg-001", 1, nodes[1], func(s *swarm.ServiceSpec) { s.Name = "dswarm-j-s1-a1" })
		left("seg-002-backup", 2, nodes[2], func(*swarm.ServiceSpec) {})
		left("seg-000", 0, nodes[0], func(s *swarm.ServiceSpec) { delete(s.Labels, LabelRole) })
		f.created = nil

		x := newExec(f)
		x.Startup = time.Millisecond
		x.HostRoot, x.NodeRoot = dir, dir
		require.NoError(t, x.Adopt(context.Background(), "j"))
		require.Len(t, f.live, 1, "the backup copy and the service without a task's labels are removed")
		for _, spec := range f.live {
			assert.Equal(t, "dswarm-j-s1-a1", spec.Name, "segment 1's service is kept")
		}
		segs := []scheduler.Segment{{Index: 0, Count: 25}, {Index: 1, Count: 25}, {Index: 2, Count: 25}}
		_, err := x.Place("j", segs)
		require.NoError(t, err)

		got := map[int]string{}
		done := make(chan struct{})
		for i := range segs {
			go func() {
				defer func() { done <- struct{}{} }()
				name := fmt.Sprintf("seg-%03d", i)
				out := filepath.Join(dir, name+".nut")
				res, err := x.Run(context.Background(), job.Task{JobID: "j", Name: name, Role: job.RoleSegment, Segment: i, Attempt: 1,
					Args: []string{out}, Output: out})
				assert.NoError(t, err)
				x.mu.Lock()
				got[i] = res.Node
				x.mu.Unlock()
			}()
		}
		for range segs {
			<-done
		}
		assert.Equal(t, "node2", got[1], "segment 1 finished in the adopted service")
		var names []string
		for _, s := range f.created {
			names = append(names, s.Name)
		}
		assert.ElementsMatch(t, []string{"dswarm-j-seg-000-a1", "dswarm-j-seg-002-a1"}, names, "only the segments without a service are started")
		assert.Empty(t, f.live, "every service removed at the end")
	})
}

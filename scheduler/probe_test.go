package scheduler

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWrongWeightsAreMeasured: labels say 1,1,12 but every node really
// does 12. Before probes, the two nodes believed slow never got a task on
// an 8-segment job (ratio 3.0). Every node must now get a task, and
// dswarm must finish within 1.15 of the lower bound (median over seeds;
// 1.20 where 8 segments cannot split evenly), in both the simulator's range mode and the swarm's one segment per task.
func TestWrongWeightsAreMeasured(t *testing.T) {
	cases := []struct {
		name       string
		configured []float64
		true_      []float64
		segments   int
		oneSegment bool
		maxMedian  float64
	}{
		{"1,1,12 really 12,12,12, 120 segments", []float64{1, 1, 12}, []float64{12, 12, 12}, 120, false, 1.15},
		{"1,1,12 really 12,12,12, 31 segments", []float64{1, 1, 12}, []float64{12, 12, 12}, 31, false, 1.15},
		// 8 segments on 3 nodes: one node runs 3, 3/(8/3) = 1.125 of the bound at best.
		{"1,1,12 really 12,12,12, 8 segments", []float64{1, 1, 12}, []float64{12, 12, 12}, 8, false, 1.20},
		{"swarm: 1,1,12 really 12,12,12, 120 segments", []float64{1, 1, 12}, []float64{12, 12, 12}, 120, true, 1.15},
		{"swarm: 1,1,12 really 12,12,12, 31 segments", []float64{1, 1, 12}, []float64{12, 12, 12}, 31, true, 1.15},
		{"swarm: 1,1,12 really 12,12,12, 8 segments", []float64{1, 1, 12}, []float64{12, 12, 12}, 8, true, 1.20},
		{"12,1 really 1,12: the fast one is believed slow", []float64{12, 1}, []float64{1, 12}, 40, false, 1.15},
		{"swarm: 12,1 really 1,12", []float64{12, 1}, []float64{1, 12}, 40, true, 1.15},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ratios []float64
			for seed := int64(1); seed <= 21; seed++ {
				cfg := SimJob{Speeds: c.configured, TrueSpeeds: c.true_, Segments: c.segments, Seed: seed, Startup: 1.5}.Config()
				d := NewDispatcher(cfg.Costs, cfg.Nodes, DispatchOptions{Startup: cfg.Startup, OneSegment: c.oneSegment})
				res, err := Simulate(cfg, d)
				require.NoError(t, err)
				for n, w := range d.Why {
					assert.Positive(t, w.Tasks, "seed %d: %s was never measured: %v", seed, cfg.Nodes[n].Name, res.Segments)
				}
				ratios = append(ratios, res.Ratio())
			}
			sort.Float64s(ratios)
			t.Logf("ratio median %.3f, max %.3f", ratios[len(ratios)/2], ratios[len(ratios)-1])
			assert.LessOrEqual(t, ratios[len(ratios)/2], c.maxMedian)
		})
	}
}

// TestProbe: which nodes get a probe, and when.
func TestProbe(t *testing.T) {
	equal := func(n int) []float64 {
		c := make([]float64, n)
		for i := range c {
			c[i] = 100 + float64(i)
		}
		return c
	}
	cases := []struct {
		name      string
		costs     []float64
		nodes     []SpeedNode
		wantProbe []int // nodes probed by the first Next, in order
	}{
		{"a node believed slow is probed with the smallest segment", equal(8),
			[]SpeedNode{{Name: "a", Speed: 1, Slots: 1}, {Name: "b", Speed: 1, Slots: 1}, {Name: "c", Speed: 12, Slots: 1}}, []int{0, 1}},
		{"too few segments: no probe", equal(5),
			[]SpeedNode{{Name: "a", Speed: 1, Slots: 1}, {Name: "b", Speed: 1, Slots: 1}, {Name: "c", Speed: 12, Slots: 1}}, nil},
		{"measured in an earlier job: no probe", equal(8),
			[]SpeedNode{{Name: "a", Speed: 1, Slots: 1, Measured: true}, {Name: "b", Speed: 1, Slots: 1}, {Name: "c", Speed: 12, Slots: 1}}, []int{1}},
		{"a node the rule gives work needs no probe", equal(8),
			[]SpeedNode{{Name: "a", Speed: 10, Slots: 1}, {Name: "b", Speed: 12, Slots: 1}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDispatcher(c.costs, c.nodes, DispatchOptions{Startup: 1, OneSegment: true})
			var probed []int
			for _, a := range d.Next(0) {
				if d.Why[a.Node].Probed {
					assert.Equal(t, len(probed), a.First, "the smallest segments (costs rise with the index)")
					assert.Equal(t, 1, a.Last-a.First)
					probed = append(probed, a.Node)
				}
			}
			assert.Equal(t, c.wantProbe, probed)
		})
	}
}

// TestProbeRequeued: a probe whose slot went to another job is tried again.
func TestProbeRequeued(t *testing.T) {
	costs := []float64{5, 6, 7, 8, 9, 10}
	nodes := []SpeedNode{{Name: "slow", Speed: 1, Slots: 1}, {Name: "fast", Speed: 12, Slots: 1}}
	d := NewDispatcher(costs, nodes, DispatchOptions{Startup: 1, OneSegment: true})
	var probe Attempt
	for _, a := range d.Next(0) {
		if a.Node == 0 {
			probe = a
		}
	}
	require.True(t, d.Why[0].Probed)
	assert.Equal(t, 0, probe.First)
	d.Requeue(probe)
	assert.False(t, d.Why[0].Probed)
	again := d.Next(0.1)
	require.Len(t, again, 1)
	assert.Equal(t, 0, again[0].Node)
	assert.Equal(t, 0, again[0].First, "the probe again, on the smallest segment")
	assert.True(t, d.Why[0].Probed)
}

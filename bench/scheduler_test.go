package bench

import (
	"fmt"
	"math/rand"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/dswarm/dswarm/scheduler"
)

// BenchmarkSimulatedPolicies prints the scheduling targets: speeds
// 48,36,12, 120 segments, 30% speed error; then the same with the fastest
// node slowing 3x halfway through. Seed 1 as `dswarm simulate` shows it,
// and the distribution over 100 seeds.
func BenchmarkSimulatedPolicies(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for _, slow := range []bool{false, true} {
			ratios := map[string][]float64{}
			var gains []float64
			for seed := int64(1); seed <= 100; seed++ {
				job := scheduler.SimJob{Speeds: []float64{48, 36, 12}, Segments: 120, Seed: seed, SpeedError: 0.3, Startup: 1.5}
				if slow {
					job.Slowdowns = []scheduler.Slowdown{{Node: 0, Factor: 3, At: scheduler.LowerBound(job.Config()) / 2}}
				}
				cfg := job.Config()
				var static, ds float64
				for _, p := range scheduler.Policies(cfg) {
					res, err := scheduler.Simulate(cfg, p)
					if err != nil {
						b.Fatal(err)
					}
					ratios[res.Policy] = append(ratios[res.Policy], res.Ratio())
					switch res.Policy {
					case "static-weights":
						static = res.Makespan
					case "dswarm":
						ds = res.Makespan
					}
					if seed == 1 {
						fmt.Printf("slowdown=%-5v seed 1  %-18s makespan %6.1fs  ratio %.3f  tasks %3d  backups %d\n", slow, res.Policy, res.Makespan, res.Ratio(), res.Tasks, res.Backups)
					}
				}
				gains = append(gains, 1-ds/static)
			}
			for _, name := range []string{"static-weights", "equal-round-robin", "min-mm", "dswarm"} {
				r := ratios[name]
				sort.Float64s(r)
				fmt.Printf("slowdown=%-5v 100 seeds %-18s ratio median %.3f  p90 %.3f  max %.3f\n", slow, name, r[50], r[90], r[99])
			}
			sort.Float64s(gains)
			fmt.Printf("slowdown=%-5v dswarm vs static-weights: makespan %.0f%% shorter (median), %.0f%% (worst seed)\n", slow, 100*gains[50], 100*gains[0])
		}
	}
}

// BenchmarkPlan1000Nodes100kSegments plans a job for 1,000 nodes and
// 100,000 segments: feasibility, segment costs, the placement plan by
// earliest finish, and the dispatcher's first round of tasks. It prints the
// time and the memory allocated.
func BenchmarkPlan1000Nodes100kSegments(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	nodes := make([]scheduler.Node, 1000)
	speedNodes := make([]scheduler.SpeedNode, 1000)
	for i := range nodes {
		w := float64(4 + rng.Intn(60))
		nodes[i] = scheduler.Node{ID: fmt.Sprint(i), Hostname: fmt.Sprintf("n%d", i), Arch: "x86_64", State: "ready",
			Availability: "active", Weight: w, HasImage: true, Slots: 1}
		speedNodes[i] = scheduler.SpeedNode{Name: nodes[i].Hostname, Speed: w, Slots: 1}
	}
	segs := make([]scheduler.Segment, 100_000)
	for i := range segs {
		segs[i] = scheduler.Segment{Index: i, Count: 240 + rng.Intn(30), Bytes: int64(100_000 + rng.Intn(400_000))}
	}
	b.ReportAllocs()
	b.ResetTimer()
	var before, after runtime.MemStats
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		feas := scheduler.Feasible(nodes, []string{"x86_64"})
		costs := scheduler.SegmentCosts(segs)
		if _, err := scheduler.Assign(costs, feas.Nodes); err != nil {
			b.Fatal(err)
		}
		d := scheduler.NewDispatcher(costs, speedNodes, scheduler.DispatchOptions{Startup: 1.5})
		first := d.Next(0)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		fmt.Printf("plan 1000 nodes x 100000 segments: %v, %.1f MB allocated, %d first tasks (targets: < 1 s, < 200 MB)\n",
			elapsed.Round(time.Millisecond), float64(after.TotalAlloc-before.TotalAlloc)/1e6, len(first))
		// The swarm's mode: one segment per task, the costliest first.
		start = time.Now()
		one := scheduler.NewDispatcher(costs, speedNodes, scheduler.DispatchOptions{Startup: 1.5, OneSegment: true})
		first = one.Next(0)
		fmt.Printf("first round, one segment per task (the swarm's mode): %v, %d tasks\n", time.Since(start).Round(time.Millisecond), len(first))
	}
}

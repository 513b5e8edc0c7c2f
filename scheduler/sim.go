package scheduler

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
)

// Slowdown makes a node slower by Factor from time At on.
type Slowdown struct {
	Node   int
	Factor float64
	At     float64
}

// SimConfig is one simulated job.
type SimConfig struct {
	Costs []float64
	Nodes []SpeedNode // configured speeds, as the policies see them
	// TrueSpeeds are what the nodes really do (cost units per second);
	// nil means the configured speeds.
	TrueSpeeds []float64
	Startup    float64
	Slowdowns  []Slowdown
	// Tick is how often policies are asked again while nothing ends
	// (default 1 s), so that they can notice a late task.
	Tick float64
}

// SimResult is the outcome of one simulated job.
type SimResult struct {
	Policy     string
	Makespan   float64
	LowerBound float64
	Tasks      int
	Backups    int
	Cancelled  int
	// Segments is how many segments each node completed.
	Segments []int
}

// Ratio is the makespan over the lower bound.
func (r SimResult) Ratio() float64 { return r.Makespan / r.LowerBound }

// ErrStalled is returned when a policy leaves work undone with nothing running.
var ErrStalled = errors.New("policy stalled: work left and nothing running")

type simRun struct {
	a        Attempt
	startup  float64 // start-up seconds left
	work     float64 // cost left
	finished bool
}

func (c SimConfig) trueSpeed(n int, t float64) float64 {
	s := c.Nodes[n].Speed
	if c.TrueSpeeds != nil {
		s = c.TrueSpeeds[n]
	}
	for _, sd := range c.Slowdowns {
		if sd.Node == n && t >= sd.At {
			s /= sd.Factor
		}
	}
	return s
}

// Simulate runs policy p on the job, as a discrete-event simulation: tasks
// spend Startup seconds, then work through their cost at their node's true
// speed (which may change at a slowdown). It checks the invariants on the
// way: no node runs more tasks than its slots, and every segment completes
// exactly once.
func Simulate(cfg SimConfig, p Policy) (SimResult, error) {
	if cfg.Tick <= 0 {
		cfg.Tick = 1
	}
	res := SimResult{Policy: p.Name(), Segments: make([]int, len(cfg.Nodes)), LowerBound: LowerBound(cfg)}
	done := make([]int, len(cfg.Costs))
	left := len(cfg.Costs)
	var runs []*simRun
	busy := make([]int, len(cfg.Nodes))
	now := 0.0
	for step := 0; left > 0; step++ {
		if step > 10_000_000 {
			return res, errors.New("simulation does not end")
		}
		for _, a := range p.Next(now) {
			if a.Node < 0 || a.Node >= len(cfg.Nodes) {
				return res, fmt.Errorf("%s started a task on unknown node %d", p.Name(), a.Node)
			}
			if busy[a.Node] >= max(cfg.Nodes[a.Node].Slots, 1) {
				return res, fmt.Errorf("%s overcommitted node %s: %d slots", p.Name(), cfg.Nodes[a.Node].Name, cfg.Nodes[a.Node].Slots)
			}
			busy[a.Node]++
			res.Tasks++
			if a.Backup {
				res.Backups++
			}
			runs = append(runs, &simRun{a: a, startup: cfg.Startup, work: a.Cost})
		}
		if len(runs) == 0 {
			return res, fmt.Errorf("%s at %.1fs: %w", p.Name(), now, ErrStalled)
		}
		// The next event: a run ends its start-up or its work, a slowdown
		// starts, or the tick.
		dt := cfg.Tick
		for _, r := range runs {
			if r.startup > 0 {
				dt = math.Min(dt, r.startup)
			} else {
				dt = math.Min(dt, r.work/cfg.trueSpeed(r.a.Node, now))
			}
		}
		for _, sd := range cfg.Slowdowns {
			if sd.At > now {
				dt = math.Min(dt, sd.At-now)
			}
		}
		for _, r := range runs {
			if r.startup > 0 {
				r.startup -= dt
				if r.startup < 1e-9 {
					r.startup = 0
				}
				continue
			}
			r.work -= dt * cfg.trueSpeed(r.a.Node, now)
			if r.work < 1e-9 {
				r.finished = true
			}
		}
		now += dt
		if po, ok := p.(ProgressObserver); ok {
			for _, r := range runs {
				if r.startup == 0 && !r.finished {
					po.Progress(r.a, r.a.Cost-r.work, now)
				}
			}
		}
		var still []*simRun
		cancelled := map[int]bool{}
		for _, r := range runs {
			if !r.finished || cancelled[r.a.ID] {
				continue
			}
			busy[r.a.Node]--
			for i := r.a.First; i < r.a.Last; i++ {
				done[i]++
				if done[i] > 1 {
					return res, fmt.Errorf("%s: segment %d completed twice", p.Name(), i)
				}
			}
			left -= r.a.Last - r.a.First
			res.Segments[r.a.Node] += r.a.Last - r.a.First
			for _, c := range p.Finished(r.a, now) {
				cancelled[c.ID] = true
			}
		}
		for _, r := range runs {
			switch {
			case cancelled[r.a.ID]:
				busy[r.a.Node]--
				res.Cancelled++
			case !r.finished:
				still = append(still, r)
			}
		}
		runs = still
	}
	res.Makespan = now
	return res, nil
}

// LowerBound is the least makespan physically possible: all the work at the
// nodes' combined true speed (through any slowdown), or the largest segment
// on the fastest node, whichever is longer, plus one start-up.
func LowerBound(cfg SimConfig) float64 {
	total, largest := 0.0, 0.0
	for _, c := range cfg.Costs {
		total += c
		largest = math.Max(largest, c)
	}
	// Capacity over time is piecewise constant between slowdowns.
	times := []float64{0}
	for _, sd := range cfg.Slowdowns {
		times = append(times, sd.At)
	}
	sortFloats(times)
	capacity := func(t float64) (sum, fastest float64) {
		for n := range cfg.Nodes {
			s := cfg.trueSpeed(n, t)
			sum += s * float64(max(cfg.Nodes[n].Slots, 1))
			fastest = math.Max(fastest, s)
		}
		return
	}
	t, work := 0.0, total
	for i := range times {
		sum, _ := capacity(times[i])
		end := math.Inf(1)
		if i+1 < len(times) {
			end = times[i+1]
		}
		if need := work / sum; times[i]+need <= end {
			t = times[i] + need
			break
		}
		work -= sum * (end - times[i])
	}
	_, fastest := capacity(0)
	return math.Max(t, largest/fastest) + cfg.Startup
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// SimJob describes a job for the simulate command: nodes, segments and how
// wrong the configured speeds are.
type SimJob struct {
	Speeds     []float64
	Segments   int
	Seed       int64
	SpeedError float64 // true speed within +-SpeedError of configured
	// TrueSpeeds, when set, are the nodes' real speeds whatever the
	// configured ones say (SpeedError is then unused): a wrong label.
	TrueSpeeds []float64
	Startup    float64
	Slowdowns  []Slowdown
	// FramesPerSegment is the mean segment cost (default 250 frames);
	// segment complexity varies around it (lognormal, sigma 0.3).
	FramesPerSegment float64
}

// Config draws the simulated job: segment costs and true speeds, from Seed.
func (j SimJob) Config() SimConfig {
	rng := rand.New(rand.NewSource(j.Seed))
	mean := j.FramesPerSegment
	if mean <= 0 {
		mean = 250
	}
	cfg := SimConfig{Startup: j.Startup, Slowdowns: j.Slowdowns}
	for i := 0; i < j.Segments; i++ {
		cfg.Costs = append(cfg.Costs, mean*math.Exp(0.3*rng.NormFloat64()-0.045))
	}
	for i, s := range j.Speeds {
		cfg.Nodes = append(cfg.Nodes, SpeedNode{Name: fmt.Sprintf("node%d", i+1), Speed: s, Slots: 1})
		if j.TrueSpeeds != nil {
			cfg.TrueSpeeds = append(cfg.TrueSpeeds, j.TrueSpeeds[i])
			continue
		}
		cfg.TrueSpeeds = append(cfg.TrueSpeeds, s*(1+j.SpeedError*(2*rng.Float64()-1)))
	}
	return cfg
}

// Policies returns every policy the simulator compares, fresh for cfg.
func Policies(cfg SimConfig) []Policy {
	return []Policy{
		StaticWeights(cfg.Costs, cfg.Nodes),
		RoundRobin(cfg.Costs, cfg.Nodes),
		MinMM(cfg.Costs, cfg.Nodes),
		NewDispatcher(cfg.Costs, cfg.Nodes, DispatchOptions{Startup: cfg.Startup}),
	}
}

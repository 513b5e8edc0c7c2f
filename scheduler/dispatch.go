package scheduler

import (
	"sort"
)

// Attempt is one task: a contiguous range of segments [First, Last) run on
// one slot of a node. A backup is a second attempt at a straggler's range
// on another node; whichever finishes first wins and the other is cancelled.
type Attempt struct {
	ID          int
	First, Last int
	Node        int
	Start       float64 // seconds
	Cost        float64
	Backup      bool
}

// segRange is a contiguous range of segments [First, Last).
type segRange struct{ First, Last int }

// progressMark is how far a running attempt was when it last reported:
// the cost Done by then, and At when (seconds).
type progressMark struct{ Done, At float64 }

// Policy decides what runs where and when. The simulator drives policies
// with simulated time; the swarm executor could drive the same code with the
// wall clock. Time is always passed in.
type Policy interface {
	// Next returns the attempts to start at time now; it never starts more
	// attempts on a node than its free slots.
	Next(now float64) []Attempt
	// Finished records that attempt a ended at now and returns the running
	// attempts to cancel (a backup's twin).
	Finished(a Attempt, now float64) []Attempt
	// Name names the policy in reports.
	Name() string
}

// ProgressObserver is a Policy that wants to hear how far running attempts
// are (ffmpeg reports frames done as it goes): the cost done so far.
type ProgressObserver interface {
	Progress(a Attempt, done float64, now float64)
}

// SpeedNode is a node as the policies see it: its starting speed (cost
// units per second, from the dswarm.weight label, `dswarm bench` or the CPU
// count, or what earlier jobs learnt) and how many tasks it runs at once.
type SpeedNode struct {
	Name  string
	Speed float64
	Slots int
	// Measured says Speed was learnt from tasks the node ran in earlier
	// jobs; a node never measured gets a probe (see Dispatcher).
	Measured bool
}

// DispatchOptions tune the dswarm policy.
type DispatchOptions struct {
	// Startup is a task's fixed start-up cost in seconds (service creation,
	// image start, ffmpeg init, seek).
	Startup float64
	// StartupShare is the largest share of a task's time start-up may take:
	// tasks are made at least Startup/StartupShare seconds long. Default 0.1.
	StartupShare float64
	// Guide is the guided self-scheduling factor: a task takes about
	// 1/Guide of the free node's share of the remaining work. Default 2.
	Guide float64
	// MaxShare caps a task at this share of the job's expected length.
	// Default 1 (no cap): simulated over 200 random jobs, caps cost more
	// start-ups than they save, since late tasks get backups anyway.
	MaxShare float64
	// NoBackups turns straggler backups off.
	NoBackups bool
	// OneSegment makes every task exactly one segment, the costliest one
	// left first. The swarm executor runs one service per segment (segment
	// sizing already weighs start-up), the simulator merges ranges.
	OneSegment bool
}

// Dispatcher is dswarm's own policy:
//   - task size: guided self-scheduling over contiguous segment ranges, large
//     first and shrinking as the work runs out, but never so small that
//     start-up dominates (see DispatchOptions);
//   - placement: a free slot takes work only if no busy node would finish
//     that work sooner (earliest estimated finish), so a slow node does not
//     grab the last pieces;
//   - speeds: each node's speed is learnt from the tasks it finishes, and
//     lowered as soon as a running task is late, so wrong weights and
//     mid-job slowdowns are corrected within the job;
//   - probes: a node never measured that the rule above leaves idle gets
//     the smallest segment early, when the job has enough segments, so its
//     speed is learnt, not assumed (a wrong low weight would otherwise keep
//     it idle for good);
//   - backups: once no work is left, an idle slot runs a copy of the
//     straggler that would finish latest, if the copy would finish clearly
//     sooner; the first to finish wins and the twin is cancelled.
type Dispatcher struct {
	costs   []float64
	prefix  []float64 // prefix sums of costs
	nodes   []SpeedNode
	opt     DispatchOptions
	speed   []float64 // current estimate, cost units per second
	learnt  []bool
	pending []segRange // segment ranges not started, in order
	running []Attempt
	// progress of running attempts by ID
	progress map[int]progressMark
	nextID   int
	measured map[int]bool // attempts whose speed the caller measured
	probe    probeState
	held     []int  // slots taken by work the dispatcher does not schedule
	others   []int  // slots other jobs hold
	down     []bool // nodes that left: no more work
	// Why records, per node, the decisions worth explaining.
	Why []NodeAccount
}

// NewDispatcher makes the dswarm policy for segments of the given costs.
func NewDispatcher(costs []float64, nodes []SpeedNode, opt DispatchOptions) *Dispatcher {
	if opt.StartupShare <= 0 {
		opt.StartupShare = 0.1
	}
	if opt.Guide <= 0 {
		opt.Guide = 2
	}
	if opt.MaxShare <= 0 {
		opt.MaxShare = 1
	}
	d := &Dispatcher{costs: costs, nodes: nodes, opt: opt, prefix: make([]float64, len(costs)+1), progress: map[int]progressMark{}, measured: map[int]bool{}}
	for i, c := range costs {
		d.prefix[i+1] = d.prefix[i] + c
	}
	d.speed = make([]float64, len(nodes))
	d.learnt = make([]bool, len(nodes))
	d.Why = make([]NodeAccount, len(nodes))
	d.held = make([]int, len(nodes))
	d.others = make([]int, len(nodes))
	d.down = make([]bool, len(nodes))
	for i, n := range nodes {
		d.speed[i] = n.Speed
		d.Why[i].ConfiguredSpeed = n.Speed
	}
	if len(costs) > 0 {
		d.pending = []segRange{{0, len(costs)}}
	}
	d.probe = newProbeState(len(costs), nodes)
	return d
}

// Name implements Policy.
func (d *Dispatcher) Name() string { return "dswarm" }

func (d *Dispatcher) busy(n int) int {
	c := d.held[n] + d.others[n]
	for _, a := range d.running {
		if a.Node == n {
			c++
		}
	}
	return c
}

// Busy is how many of node n's slots are taken, by attempts and holds.
func (d *Dispatcher) Busy(n int) int { return d.busy(n) }

// full reports whether node n can take no more work now.
func (d *Dispatcher) full(n int) bool {
	return d.down[n] || d.busy(n) >= max(d.nodes[n].Slots, 1)
}

// Hold takes (delta > 0) or gives back (delta < 0) slots of node n for
// work the dispatcher does not schedule: the audio track, the merge, a
// retry after a failure.
func (d *Dispatcher) Hold(n, delta int) { d.held[n] = max(d.held[n]+delta, 0) }

// SetOthers sets how many of node n's slots other jobs hold.
func (d *Dispatcher) SetOthers(n, k int) { d.others[n] = max(k, 0) }

// Pending is how many segments have not been handed out.
func (d *Dispatcher) Pending() int {
	n := 0
	for _, p := range d.pending {
		n += p.Last - p.First
	}
	return n
}

// Requeue takes back attempt a, just handed out, that could not start (the
// slot went to another job): its segments are pending again.
func (d *Dispatcher) Requeue(a Attempt) {
	d.Abandon(a)
	d.unprobe(a)
	d.Why[a.Node].Tasks--
	if a.Backup {
		d.Why[a.Node].Backups--
		return
	}
	d.pending = append(d.pending, segRange{a.First, a.Last})
}

// Skip takes segment i out of the work: it is done already, or runs in a
// task adopted from before a restart.
func (d *Dispatcher) Skip(i int) {
	for k, p := range d.pending {
		if i >= p.First && i < p.Last {
			d.takePending(k, i)
			return
		}
	}
}

// takePending removes segment i from pending range k, leaving the parts
// before and after it.
func (d *Dispatcher) takePending(k, i int) {
	p := d.pending[k]
	var parts []segRange
	if p.First < i {
		parts = append(parts, segRange{p.First, i})
	}
	if i+1 < p.Last {
		parts = append(parts, segRange{i + 1, p.Last})
	}
	d.pending = append(d.pending[:k], append(parts, d.pending[k+1:]...)...)
}

// Down records that node n left: it gets no more work, and its speed no
// longer counts towards the job's projected end.
func (d *Dispatcher) Down(n int) { d.down[n] = true }

// Abandon records that attempt a failed: it no longer runs. Its segments
// are not handed out again: the caller retries them (on another node).
func (d *Dispatcher) Abandon(a Attempt) {
	keep := d.running[:0]
	for _, b := range d.running {
		if b.ID != a.ID {
			keep = append(keep, b)
		}
	}
	d.running = keep
	delete(d.progress, a.ID)
	delete(d.measured, a.ID)
}

// Next implements Policy.
func (d *Dispatcher) Next(now float64) []Attempt {
	d.observe(now)
	var out []Attempt
	// Fastest free slots choose first.
	order := make([]int, len(d.nodes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return d.speed[order[a]] > d.speed[order[b]] })
	for progress := true; progress; {
		progress = false
		for _, n := range order {
			if d.full(n) || len(d.pending) == 0 {
				continue
			}
			first, last, ok := d.chunk(n, now)
			if !ok {
				continue
			}
			a := d.start(n, first, last, now, false)
			out = append(out, a)
			progress = true
		}
	}
	out = append(out, d.probes(now)...)
	if len(d.pending) == 0 && !d.opt.NoBackups {
		out = append(out, d.backups(now)...)
	}
	return out
}

func (d *Dispatcher) start(n, first, last int, now float64, backup bool) Attempt {
	a := Attempt{ID: d.nextID, First: first, Last: last, Node: n, Start: now, Cost: d.rangeCost(first, last), Backup: backup}
	d.nextID++
	d.running = append(d.running, a)
	d.Why[n].Tasks++
	if backup {
		d.Why[n].Backups++
	}
	return a
}

// Finished implements Policy.
func (d *Dispatcher) Finished(a Attempt, now float64) []Attempt {
	var cancel, keep []Attempt
	for _, b := range d.running {
		switch {
		case b.ID == a.ID:
		case b.First == a.First && b.Last == a.Last:
			cancel = append(cancel, b)
		default:
			keep = append(keep, b)
		}
	}
	d.running = keep
	delete(d.progress, a.ID)
	for _, c := range cancel {
		delete(d.progress, c.ID)
	}
	d.Why[a.Node].Segments += a.Last - a.First
	if work := now - a.Start - d.opt.Startup; work > 0 && !d.measured[a.ID] {
		d.learn(a.Node, a.Cost/work)
	}
	delete(d.measured, a.ID)
	return cancel
}

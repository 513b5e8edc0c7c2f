package scheduler

import (
	"fmt"
	"math"
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

// SegmentCosts estimates each segment's encoding cost in frame units:
// frames times a complexity proxy, the segment's compressed bytes per frame
// against the mean (damped: half the cost is per frame whatever its size,
// because decoding and motion search cost per frame too).
func SegmentCosts(segs []Segment) []float64 {
	var frames, bytes float64
	for _, s := range segs {
		frames += float64(s.Count)
		bytes += float64(s.Bytes)
	}
	costs := make([]float64, len(segs))
	for i, s := range segs {
		c := float64(s.Count)
		if bytes > 0 && s.Count > 0 {
			rel := (float64(s.Bytes) / float64(s.Count)) / (bytes / frames)
			c *= 0.5 + 0.5*math.Min(math.Max(rel, 0.25), 4)
		}
		costs[i] = c
	}
	return costs
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
	pending [][2]int // segment ranges not started, in order
	running []Attempt
	// progress of running attempts by ID: cost done and when it was seen
	progress map[int][2]float64
	nextID   int
	measured map[int]bool // attempts whose speed the caller measured
	probe    probeState
	held     []int  // slots taken by work the dispatcher does not schedule
	others   []int  // slots other jobs hold
	down     []bool // nodes that left: no more work
	// Why records, per node, the decisions worth explaining.
	Why []NodeAccount
}

// NodeAccount explains what a node got.
type NodeAccount struct {
	Tasks, Backups, Segments int
	ConfiguredSpeed          float64
	LearntSpeed              float64
	// Probed says the node was never measured and got a first small task
	// to learn its speed.
	Probed bool
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
	d := &Dispatcher{costs: costs, nodes: nodes, opt: opt, prefix: make([]float64, len(costs)+1), progress: map[int][2]float64{}, measured: map[int]bool{}}
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
		d.pending = [][2]int{{0, len(costs)}}
	}
	d.probe = newProbeState(len(costs), nodes)
	return d
}

// Name implements Policy.
func (d *Dispatcher) Name() string { return "dswarm" }

func (d *Dispatcher) rangeCost(first, last int) float64 { return d.prefix[last] - d.prefix[first] }

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
		n += p[1] - p[0]
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
	d.pending = append(d.pending, [2]int{a.First, a.Last})
}

// Skip takes segment i out of the work: it is done already, or runs in a
// task adopted from before a restart.
func (d *Dispatcher) Skip(i int) {
	for k, p := range d.pending {
		if i >= p[0] && i < p[1] {
			d.takePending(k, i)
			return
		}
	}
}

// takePending removes segment i from pending range k, leaving the parts
// before and after it.
func (d *Dispatcher) takePending(k, i int) {
	p := d.pending[k]
	var parts [][2]int
	if p[0] < i {
		parts = append(parts, [2]int{p[0], i})
	}
	if i+1 < p[1] {
		parts = append(parts, [2]int{i + 1, p[1]})
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

// eta is when a running attempt is expected to end: from its reported
// progress and its node's current speed when there is progress, else from
// its start.
func (d *Dispatcher) eta(a Attempt) float64 {
	if p, ok := d.progress[a.ID]; ok {
		return p[1] + (a.Cost-p[0])/d.speed[a.Node]
	}
	return a.Start + d.opt.Startup + a.Cost/d.speed[a.Node]
}

// Progress implements ProgressObserver: the rate since the last report is
// the node's speed now, so a slowdown shows within one report.
func (d *Dispatcher) Progress(a Attempt, done, now float64) {
	prev, ok := d.progress[a.ID]
	d.progress[a.ID] = [2]float64{done, now}
	if !ok || now <= prev[1] || done <= prev[0] {
		return
	}
	d.learn(a.Node, (done-prev[0])/(now-prev[1]))
}

// Measured records the speed attempt a ran at, as its encoder reported it
// (ffmpeg's fps over the task, without container start-up): a better
// measure than the wall time Finished would otherwise use.
func (d *Dispatcher) Measured(a Attempt, rate float64) {
	if rate <= 0 {
		return
	}
	d.measured[a.ID] = true
	d.learn(a.Node, rate)
}

func (d *Dispatcher) learn(n int, rate float64) {
	if d.learnt[n] {
		d.speed[n] = 0.5*d.speed[n] + 0.5*rate
	} else {
		d.speed[n], d.learnt[n] = rate, true
	}
	d.rescaleUnlearnt()
	for m := range d.nodes {
		d.Why[m].LearntSpeed = d.speed[m]
	}
}

// inflight is the cost of running attempts not yet done (twins once).
func (d *Dispatcher) inflight() float64 {
	sum := 0.0
	for _, a := range d.running {
		if a.Backup {
			continue
		}
		sum += a.Cost - d.progress[a.ID][0]
	}
	return sum
}

// observe lowers the speed of nodes whose running tasks are late: a task of
// cost c running for t seconds past start-up means the node does at most
// c/t per second.
func (d *Dispatcher) observe(now float64) {
	for _, a := range d.running {
		work := now - a.Start - d.opt.Startup
		if _, ok := d.progress[a.ID]; ok || work <= 0 {
			continue
		}
		if bound := a.Cost / work; bound < d.speed[a.Node] {
			d.speed[a.Node] = bound
		}
	}
}

// freeAt is when node n can start something new: now if a slot is free,
// else when its first running task should end.
func (d *Dispatcher) freeAt(n int, now float64) float64 {
	if d.down[n] {
		return math.Inf(1)
	}
	if d.busy(n) < max(d.nodes[n].Slots, 1) {
		return now
	}
	t := math.Inf(1)
	for _, a := range d.running {
		if a.Node == n {
			t = math.Min(t, d.eta(a))
		}
	}
	return math.Max(t, now)
}

func (d *Dispatcher) remaining() float64 {
	r := 0.0
	for _, p := range d.pending {
		r += d.rangeCost(p[0], p[1])
	}
	return r
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

// chunk picks the range node n should take now, or none if another node
// would finish even the smallest piece sooner.
func (d *Dispatcher) chunk(n int, now float64) (int, int, bool) {
	total := 0.0
	for i := range d.nodes {
		if !d.down[i] {
			total += d.speed[i] * float64(max(d.nodes[i].Slots, 1))
		}
	}
	if d.opt.OneSegment {
		return d.costliest(n, now, total)
	}
	share := d.remaining() * d.speed[n] / d.unsureTotal() / d.opt.Guide
	floor := d.speed[n] * d.opt.Startup / d.opt.StartupShare
	ceiling := d.speed[n] * d.prefix[len(d.costs)] / total * d.opt.MaxShare
	target := math.Max(math.Min(share, ceiling), floor)
	// Take from the front of the largest pending range: big, contiguous.
	big := 0
	for i, p := range d.pending {
		if d.rangeCost(p[0], p[1]) > d.rangeCost(d.pending[big][0], d.pending[big][1]) {
			big = i
		}
	}
	p := d.pending[big]
	last := p[0] + 1
	for last < p[1] && d.rangeCost(p[0], last) < target {
		last++
	}
	// Leave no tail too small for a task of its own.
	if p[1]-last > 0 && d.rangeCost(last, p[1]) < floor/4 {
		last = p[1]
	}
	// Take work only if this node would finish it before the job's
	// projected end (all work left at everyone's speed); shrink the piece to
	// fit, and leave it to faster nodes if not even one segment fits.
	end := now + d.opt.Startup + (d.remaining()+d.inflight())/total
	for last > p[0]+1 && now+d.opt.Startup+d.rangeCost(p[0], last)/d.speed[n] > end {
		last--
	}
	if now+d.opt.Startup+d.rangeCost(p[0], last)/d.speed[n] > end && d.fasterWillBeFree(n, now, d.rangeCost(p[0], last)) {
		return 0, 0, false
	}
	if last == p[1] {
		d.pending = append(d.pending[:big], d.pending[big+1:]...)
	} else {
		d.pending[big][0] = last
	}
	return p[0], last, true
}

// costliest hands node n the costliest segment left, if n would finish it
// before the job's projected end or no other node would finish it sooner.
func (d *Dispatcher) costliest(n int, now, total float64) (int, int, bool) {
	pi, si := -1, -1
	for i, p := range d.pending {
		for s := p[0]; s < p[1]; s++ {
			if si < 0 || d.costs[s] > d.costs[si] {
				pi, si = i, s
			}
		}
	}
	end := now + d.opt.Startup + (d.remaining()+d.inflight())/total
	if now+d.opt.Startup+d.costs[si]/d.speed[n] > end && d.fasterWillBeFree(n, now, d.costs[si]) {
		return 0, 0, false
	}
	d.takePending(pi, si)
	return si, si + 1, true
}

// fasterWillBeFree reports whether another node would finish cost sooner
// than n, counting the time until it is free.
func (d *Dispatcher) fasterWillBeFree(n int, now, cost float64) bool {
	mine := now + d.opt.Startup + cost/d.speed[n]
	for m := range d.nodes {
		if m != n && d.freeAt(m, now)+d.opt.Startup+cost/d.speed[m] < mine {
			return true
		}
	}
	return false
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

// backups starts copies of stragglers on idle slots.
func (d *Dispatcher) backups(now float64) []Attempt {
	var out []Attempt
	for n := range d.nodes {
		for !d.full(n) {
			best, bestGain := -1, 0.0
			for i, a := range d.running {
				if a.Node == n || d.hasTwin(a) {
					continue
				}
				mine := now + d.opt.Startup + a.Cost/d.speed[n]
				theirs := math.Max(d.eta(a), now)
				// Clearly sooner: by more than a start-up and 10%.
				if gain := theirs - mine; gain > d.opt.Startup+0.1*(theirs-now) && gain > bestGain {
					best, bestGain = i, gain
				}
			}
			if best < 0 {
				break
			}
			a := d.running[best]
			out = append(out, d.start(n, a.First, a.Last, now, true))
		}
	}
	return out
}

func (d *Dispatcher) hasTwin(a Attempt) bool {
	for _, b := range d.running {
		if b.ID != a.ID && b.First == a.First && b.Last == a.Last {
			return true
		}
	}
	return false
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

// rescaleUnlearnt moves nodes without a measurement by the median ratio of
// measured to configured speed of the others: configured weights are often
// right relative to each other and wrong in scale.
func (d *Dispatcher) rescaleUnlearnt() {
	var ratios []float64
	for n := range d.nodes {
		if d.learnt[n] && d.nodes[n].Speed > 0 {
			ratios = append(ratios, d.speed[n]/d.nodes[n].Speed)
		}
	}
	if len(ratios) == 0 {
		return
	}
	sort.Float64s(ratios)
	k := ratios[len(ratios)/2]
	for n := range d.nodes {
		if !d.learnt[n] {
			d.speed[n] = d.nodes[n].Speed * k // a late task lowers it again (observe)
		}
	}
}

// Explain says, per node, what it got and the speed dswarm learnt for it.
func (d *Dispatcher) Explain() []string {
	out := make([]string, len(d.nodes))
	for n, w := range d.Why {
		out[n] = fmt.Sprintf("%s: %d segments in %d tasks (%d backups); speed configured %.1f, learnt %.1f",
			d.nodes[n].Name, w.Segments, w.Tasks, w.Backups, w.ConfiguredSpeed, w.LearntSpeed)
	}
	return out
}

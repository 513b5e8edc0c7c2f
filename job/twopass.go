package job

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// A distributed two-pass (media.BitrateTarget): every segment is analysed
// first, then the file's bit budget is split over the segments by what the
// analysis measured, and each segment encodes at its share. The stats files
// of the encoders' own first passes stay in the job's folder, named by
// dswarm.

// rateControl is the job's bitrate target and its budget, shared by the
// segment workers.
type rateControl struct {
	target  *media.BitrateTarget
	onePass bool // --one-pass: every segment at the target, no analysis
	seconds []float64
	mu      sync.Mutex
	budget  *scheduler.BitBudget // nil before the analysis, and with onePass
	asked   []float64            // bits per second asked of each segment
	bytes   []int64              // video bytes each finished segment made
	least   map[int]float64      // bits per second an encoder said a segment needs at least
	again   map[int]float64      // bits per second of a segment's correcting second try
	// passRate is, per segment, the bits per second of the first pass
	// whose stats its second pass reads (0: none).
	passRate []float64
	// points are, per segment, the bits its analysis passes took at their
	// constant qualities, in the order they ran.
	points [][]scheduler.QualityPoint
}

// analysisRounds is how many constant-quality rounds the analysis may
// run to find the quality where the file meets its budget.
const analysisRounds = 4

// rateTolerance is how far the file's video bits may end from the budget
// before the segment that missed most is encoded again.
const rateTolerance = 0.015

func (r *run) statsPrefix(i int) string {
	return filepath.Join(r.temp, fmt.Sprintf("seg-%05d.pass", i))
}

func (r *run) analysisPath(i int) string {
	return filepath.Join(r.temp, fmt.Sprintf("seg-%05d.analysis.nut", i))
}

// segmentSeconds is each segment's duration: its frames' durations, or
// its output slots with -r.
func (r *run) segmentSeconds() []float64 {
	secs := make([]float64, len(r.segs))
	if !r.out.Rate.IsZero() {
		for i, s := range r.out.Spans {
			secs[i] = r.out.TimeBase.Seconds(int64(s.Frames))
		}
		return secs
	}
	starts := make([]int64, len(r.segs))
	for i, s := range r.segs {
		starts[i] = s.StartPTS
	}
	for _, f := range r.src.frames {
		i := sort.Search(len(starts), func(i int) bool { return starts[i] > f.PTS }) - 1
		if i < 0 || (!r.segs[i].Last && f.PTS >= r.segs[i].EndPTS) {
			continue
		}
		secs[i] += r.src.video.TimeBase.Seconds(f.Duration)
	}
	return secs
}

// analyse runs every segment's analysis task and plans the bit budget.
// A first round measures at the encoder's middle quality; when that is far
// from the target, more rounds (up to analysisRounds) measure nearer the
// quality where the file meets its budget, because how the bits split
// between segments depends on the quality they are measured at. The split
// is then blended toward an even one (scheduler.TowardEven). FFmpeg's own
// encoders are analysed once,
// by their first pass at the target, and split as their whole-file second
// pass would (lavcSplit). Segments kept from an earlier run count with the
// bits they hold.
func (r *run) analyse(ctx context.Context) error {
	rc := r.rate
	r.setPhase("analyse")
	if p, ok := r.exec.(Pauser); ok {
		// The analysis tasks take the slots; the segments wait for them.
		p.Pause(true)
		defer p.Pause(false)
	}
	secs := rc.seconds
	total := 0.0
	for _, s := range secs {
		total += s
	}
	budget := rc.target.Bitrate * total
	rc.passRate = make([]float64, len(r.segs))
	rc.points = make([][]scheduler.QualityPoint, len(r.segs))
	lo, hi, steps, _ := rc.target.QualityScale()
	q := rc.target.StartQuality()
	var rounds [][]float64              // each round's bits per segment
	var totals []scheduler.QualityPoint // each round's quality and bits in all
	var want float64                    // the budget of the segments measured
	for round := 0; round < analysisRounds; round++ {
		bits := make([]float64, len(r.segs))
		err := r.eachSegment(ctx, func(ctx context.Context, i int) error {
			if r.reused[i] {
				return nil
			}
			b, err := r.analyseSegment(ctx, i, round, q)
			bits[i] = b
			if !rc.target.Probed() {
				// The encoder's own first pass: its stats are there.
				rc.mu.Lock()
				rc.passRate[i] = b / max(secs[i], 1e-3)
				rc.mu.Unlock()
			}
			return err
		})
		if err != nil {
			return err
		}
		var measured, measuredSecs float64
		for i, b := range bits {
			if !r.reused[i] {
				measured += b
				measuredSecs += secs[i]
			}
		}
		want = rc.target.Bitrate * measuredSecs
		rounds = append(rounds, bits)
		totals = append(totals, scheduler.QualityPoint{Q: q, Bits: measured})
		var next float64
		var again bool
		if round == 0 {
			next, again = rc.target.NextQuality(q, measured, want)
		} else {
			// The file's own line through the rounds that bracket the
			// budget: how fast bits fall with the quality differs from
			// file to file and along the scale (on a zoom, x264's halved
			// every 3.8 CRF steps from 23 to 33, every 2.8 from 33 to
			// 36, and not at all from 38 to 40). Shares and first passes
			// read off a line between far points were off by half.
			a, b := scheduler.Bracket(totals, want)
			next = scheduler.QualityFor([]scheduler.QualityPoint{totals[a], totals[b]}, want, steps, lo, hi)
			next = math.Round(next*10) / 10
			again = math.Abs(math.Log(measured/want)) > math.Log(1+media.FreshPassAt) && math.Abs(next-q) >= 0.5
		}
		if !again {
			break
		}
		q = next
	}
	// The floors come from the last round, whose stats the second pass
	// reads: x264 refuses a rate below what they allow at its coarsest
	// quantiser.
	last := totals[len(totals)-1].Q
	complexity := rounds[len(rounds)-1]
	least := make([]float64, len(r.segs)) // each segment's bits at the encoder's coarsest quantiser
	for i, b := range complexity {
		rc.points[i] = []scheduler.QualityPoint{{Q: last, Bits: b}}
		if !r.reused[i] {
			least[i] = rc.target.LeastBits(last, b)
		}
	}
	if len(rounds) > 1 {
		// Each segment's bits at the one quality where the measured ones
		// meet their part of the budget, from its line through the two
		// rounds nearest the budget on either side.
		a, b := scheduler.Bracket(totals, want)
		at := scheduler.AtCommonQuality(totals[a].Q, rounds[a], totals[b].Q, rounds[b], want)
		for i := range complexity {
			if !r.reused[i] {
				rc.points[i] = []scheduler.QualityPoint{{Q: totals[a].Q, Bits: rounds[a][i]}, {Q: totals[b].Q, Bits: rounds[b][i]}}
				complexity[i] = at[i]
			}
		}
	}
	if rc.target.LavcPlan() {
		if err := r.lavcSplit(complexity, least); err != nil {
			return err
		}
	}
	if _, _, _, scaled := rc.target.QualityScale(); scaled {
		complexity = scheduler.TowardEven(complexity, secs)
	}
	kept := map[int]float64{}
	for i := range r.segs {
		if r.reused[i] {
			_, bytes, err := videoPackets(ctx, r.segmentPath(i))
			if err != nil {
				return fmt.Errorf("segment %d kept from the earlier run: %w", i, err)
			}
			kept[i], complexity[i] = float64(bytes*8), float64(bytes*8)
		}
	}
	rc.budget = scheduler.NewBitBudget(budget, complexity, secs, rc.target.MaxRate)
	rc.budget.Least(least)
	for i, bits := range kept {
		rc.budget.Done(i, bits)
	}
	if err := r.freshPasses(ctx); err != nil {
		return err
	}
	r.setPhase("encode")
	return nil
}

// lavcSplit replaces each analysed segment's complexity with the bits
// FFmpeg's own second pass over the whole file would spend on it, and its
// least bits with what its first pass says, from the stats of the
// segments' first passes at the target.
func (r *run) lavcSplit(complexity, least []float64) error {
	var frames [][]media.PassFrame
	var which []int
	var secs float64
	for i := range r.segs {
		if r.reused[i] {
			continue
		}
		f, err := media.ReadPassLog(r.statsPrefix(i))
		if err != nil {
			return fmt.Errorf("first-pass stats of segment %d: %w", i, err)
		}
		frames = append(frames, f)
		which = append(which, i)
		secs += r.rate.seconds[i]
	}
	spend, low := media.LavcSpend(r.opts.Video, frames, r.rate.target.Bitrate*secs)
	for k, i := range which {
		complexity[i], least[i] = spend[k], low[k]
	}
	return nil
}

// freshPasses runs, while the analysis still holds the slots, a first
// pass of their own near their planned share for the segments whose share
// lies far from the rate of the analysis pass their stats come from (see
// media.FreshPass): two measurements far apart in quality (CRF 23 and 38.6
// on a file of still and grainy scenes) can leave every share several
// times off both. Where the analysis is at a constant quality, so is the
// fresh pass, at the quality the segment's analysis points say makes its
// share (see media.FirstPassOptions).
func (r *run) freshPasses(ctx context.Context) error {
	rc := r.rate
	var list []int
	rates := make([]float64, len(r.segs))
	quality := make([]float64, len(r.segs))
	lo, hi, steps, scaled := rc.target.QualityScale()
	for i := range r.segs {
		rates[i] = rc.budget.Planned(i) / max(rc.seconds[i], 1e-3)
		if r.reused[i] || !rc.target.FreshPass(rates[i], rc.passRate[i]) {
			continue
		}
		list = append(list, i)
		if scaled {
			q := scheduler.QualityFor(rc.points[i], rc.budget.Planned(i), steps, lo, hi)
			quality[i] = math.Round(q*10) / 10
		}
	}
	return r.eachOf(ctx, list, func(ctx context.Context, i int) error {
		return r.freshPass(ctx, i, rates[i], quality[i])
	})
}

// freshPass runs segment i's own first pass for a second pass at rate
// (bits per second), at constant quality q where the encoder's analysis
// is, and keeps the rate it made.
func (r *run) freshPass(ctx context.Context, i int, rate, q float64) error {
	rc := r.rate
	want := r.out.Spans[i].Frames
	opts := rc.target.FirstPassOptions(r.opts.Video, r.statsPrefix(i), rate, q)
	cmd := r.segmentCommand(r.segs[i], r.segs[i].Seek, r.videoCodec, media.Joinable(r.videoCodec, opts))
	cmd.Output = r.analysisPath(i)
	defer os.Remove(cmd.Output)
	res, err := r.runWithRetry(ctx, Task{JobID: r.id, Name: fmt.Sprintf("pass1-%03d", i), Role: RoleAnalysis,
		Segment: i, Args: cmd.Args(), Output: cmd.Output})
	if err != nil {
		return fmt.Errorf("first pass of segment %d: %w", i, err)
	}
	made := rate
	if !rc.target.Probed() {
		// x264 and x265 write their first pass's bitstream too: it holds
		// every frame, and says what the pass made.
		n, bytes, err := videoPackets(ctx, cmd.Output)
		if err != nil {
			return fmt.Errorf("first pass of segment %d on node %s: %w", i, nodeName(res.Node), err)
		}
		if n != want {
			return fmt.Errorf("first pass of segment %d on node %s: %d frames, planned %d", i, nodeName(res.Node), n, want)
		}
		made = float64(bytes*8) / max(rc.seconds[i], 1e-3)
	}
	rc.mu.Lock()
	rc.passRate[i] = made
	rc.mu.Unlock()
	return nil
}

// analyseSegment runs segment i's analysis task at a constant quality and
// returns the bits it took. Like a segment, it must hold
// exactly the segment's frames, or the second pass would not match it.
func (r *run) analyseSegment(ctx context.Context, i, round int, quality float64) (float64, error) {
	seg := r.segs[i]
	want := r.out.Spans[i].Frames
	seek := seg.Seek
	codec, opts := r.rate.target.AnalysisOptions(r.opts.Video, r.statsPrefix(i), quality)
	defer os.Remove(r.analysisPath(i))
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		cmd := r.segmentCommand(seg, seek, codec, opts)
		cmd.Output = r.analysisPath(i)
		res, err := r.runWithRetry(ctx, Task{JobID: r.id, Name: fmt.Sprintf("ana%d-%03d", round+1, i), Role: RoleAnalysis,
			Segment: i, Args: cmd.Args(), Output: cmd.Output})
		if err != nil {
			return 0, fmt.Errorf("analysis of segment %d: %w", i, err)
		}
		n, bytes, err := videoPackets(ctx, cmd.Output)
		if err == nil && n == want {
			return float64(bytes * 8), nil
		}
		lastErr = fmt.Errorf("analysis of segment %d on node %s: %d frames, planned %d", i, nodeName(res.Node), n, want)
		if err != nil {
			lastErr = fmt.Errorf("analysis of segment %d on node %s: %w", i, nodeName(res.Node), err)
		}
		if n < want && seek != scheduler.NoSeek {
			seek = seg.FallbackSeek
		}
	}
	return 0, lastErr
}

// finalOptions are segment i's video options at its share of the budget,
// asked for now.
func (r *run) finalOptions(i int) []string {
	rc := r.rate
	rc.mu.Lock()
	rate, again := rc.again[i]
	delete(rc.again, i)
	if !again {
		rate = rc.budget.Ask(i)
	}
	rate = max(rate, rc.least[i])
	rc.asked[i] = rate
	rc.mu.Unlock()
	return rc.target.FinalOptions(r.opts.Video, r.statsPrefix(i), rate)
}

// correctRate encodes again, in at most two rounds, the segments whose
// misses left the file's total more than rateTolerance off its budget:
// each by at most scheduler.MaxCorrection of its bits, so that no segment
// steps down (or up) in quality against its neighbours.
func (r *run) correctRate(ctx context.Context) error {
	rc := r.rate
	if rc == nil || rc.budget == nil {
		return nil
	}
	for round := 0; round < 2; round++ {
		rc.mu.Lock()
		fixes := rc.budget.Corrections(rateTolerance)
		var list []int
		for _, f := range fixes {
			if rc.again == nil {
				rc.again = map[int]float64{}
			}
			rc.again[f.Segment] = f.Rate
			list = append(list, f.Segment)
		}
		rc.mu.Unlock()
		if len(list) == 0 {
			return nil
		}
		r.mu.Lock()
		r.status.SegmentsDone -= len(list)
		r.mu.Unlock()
		if err := r.eachOf(ctx, list, r.encodeSegment); err != nil {
			return err
		}
	}
	return nil
}

// raiseRate takes note when segment i's encode failed because its share
// was below what the encoder can make: the next attempt asks for that, and
// no node is to blame.
func (r *run) raiseRate(i int, err error) bool {
	least, ok := media.MinimumBitrate(err)
	if !ok || r.rate == nil || r.rate.budget == nil {
		return false
	}
	r.rate.mu.Lock()
	defer r.rate.mu.Unlock()
	if r.rate.least == nil {
		r.rate.least = map[int]float64{}
	}
	if least <= r.rate.least[i] {
		return false
	}
	r.rate.least[i] = least * 1.05
	return true
}

// segmentDone records the video bytes segment i made, for the budget and
// the summary.
func (r *run) segmentDone(i int, bytes int64) {
	rc := r.rate
	if rc == nil {
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.bytes[i] = bytes
	if rc.budget != nil {
		rc.budget.Done(i, float64(bytes*8))
	}
	r.segResults[i].Bitrate = float64(bytes*8) / rc.seconds[i]
	r.segResults[i].AskedBitrate = rc.asked[i]
}

// bitrateSummary is the account of the target over the whole video.
func (r *run) bitrateSummary() *BitrateSummary {
	rc := r.rate
	if rc == nil {
		return nil
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var bits, secs float64
	for i, b := range rc.bytes {
		bits += float64(b * 8)
		secs += rc.seconds[i]
	}
	method := "two-pass"
	switch {
	case rc.onePass:
		method = "one-pass"
	case !rc.target.OwnPasses:
		method = "analysed"
	}
	return &BitrateSummary{Method: method, Target: rc.target.Bitrate, Video: bits / secs}
}

package scheduler

import (
	"encoding/json"
	"fmt"
	"time"
)

// LearntSpeed is what earlier jobs measured of one node.
type LearntSpeed struct {
	Hostname string `json:"hostname"`
	// Speed is per slot, in the units of the dswarm.weight label, so that
	// it can stand in for the weight as the next job's starting speed.
	Speed float64 `json:"speed"`
	// Prior is the weight (label, else CPU count) Speed was learnt against:
	// once the user changes the label, what was learnt no longer counts.
	Prior float64 `json:"prior"`
	// FPS is the last job's measured rate per slot, in frames (of cost)
	// per second: it depends on that job's codec and picture size, so only
	// ratios between nodes carry over to other jobs.
	FPS     float64   `json:"fps"`
	Jobs    int       `json:"jobs"`
	Updated time.Time `json:"updated"`
}

// SpeedBook is what dswarm learnt of node speeds across jobs, by node ID.
// It lives on the shared storage as a small JSON file (not a database: see
// LESSONS.md); the user's dswarm.weight is the prior it starts from.
type SpeedBook struct {
	Nodes map[string]LearntSpeed `json:"nodes"`
}

// ParseSpeedBook reads a book written by Marshal; empty input is an empty
// book.
func ParseSpeedBook(b []byte) (SpeedBook, error) {
	book := SpeedBook{Nodes: map[string]LearntSpeed{}}
	if len(b) == 0 {
		return book, nil
	}
	if err := json.Unmarshal(b, &book); err != nil {
		return SpeedBook{Nodes: map[string]LearntSpeed{}}, fmt.Errorf("speed book: %w", err)
	}
	if book.Nodes == nil {
		book.Nodes = map[string]LearntSpeed{}
	}
	return book, nil
}

// Marshal writes the book as indented JSON.
func (b SpeedBook) Marshal() ([]byte, error) { return json.MarshalIndent(b, "", "  ") }

// Lookup is what was learnt of node n, if it still holds: learnt against
// the node's current weight.
func (b SpeedBook) Lookup(n Node) (LearntSpeed, bool) {
	l, ok := b.Nodes[n.ID]
	if !ok || l.Speed <= 0 || l.Prior != n.Weight {
		return LearntSpeed{}, false
	}
	return l, true
}

// StartSpeeds are the speeds a job starts from: a node's learnt speed where
// one holds, else its weight.
func (b SpeedBook) StartSpeeds(nodes []Node) []SpeedNode {
	out := make([]SpeedNode, len(nodes))
	for i, n := range nodes {
		out[i] = SpeedNode{Name: n.Hostname, Speed: n.Weight, Slots: max(n.Slots, 1)}
		if l, ok := b.Lookup(n); ok {
			out[i].Speed, out[i].Measured = l.Speed, true
		}
	}
	return out
}

// Learn returns a new book with what one job measured: start are the
// speeds the job started from (StartSpeeds), learnt the rates it measured
// (Dispatcher.Learnt, 0 for none). Rates are in the job's own units (frames
// of cost per second), so they are scaled into the weights' units: the
// nodes measured before keep their total (else all nodes measured now do),
// and only the ratios between nodes are learnt. A node measured before
// moves halfway to the new figure; the book keeps nodes not in this job.
func (b SpeedBook) Learn(nodes []Node, start []SpeedNode, learnt []float64, now time.Time) SpeedBook {
	out := SpeedBook{Nodes: make(map[string]LearntSpeed, len(b.Nodes)+len(nodes))}
	for id, l := range b.Nodes {
		out.Nodes[id] = l
	}
	var known, knownRate, all, allRate float64
	for i := range nodes {
		if learnt[i] <= 0 {
			continue
		}
		slots := float64(max(start[i].Slots, 1))
		all += start[i].Speed * slots
		allRate += learnt[i] * slots
		if start[i].Measured {
			known += start[i].Speed * slots
			knownRate += learnt[i] * slots
		}
	}
	scale := 0.0
	switch {
	case knownRate > 0:
		scale = known / knownRate
	case allRate > 0:
		scale = all / allRate
	default:
		return out
	}
	for i, n := range nodes {
		if learnt[i] <= 0 {
			continue
		}
		speed := learnt[i] * scale
		l, ok := b.Lookup(n)
		if ok && start[i].Measured {
			speed = 0.5*l.Speed + 0.5*speed
		} else {
			l = LearntSpeed{}
		}
		out.Nodes[n.ID] = LearntSpeed{Hostname: n.Hostname, Speed: speed, Prior: n.Weight, FPS: learnt[i], Jobs: l.Jobs + 1, Updated: now}
	}
	return out
}

package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpeedBook(t *testing.T) {
	now := time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
	nodes := []Node{{ID: "n1", Hostname: "a", Weight: 1, Slots: 1}, {ID: "n2", Hostname: "b", Weight: 1, Slots: 1}, {ID: "n3", Hostname: "c", Weight: 12, Slots: 1}}
	learnt := func(speeds ...float64) SpeedBook {
		b := SpeedBook{Nodes: map[string]LearntSpeed{}}
		for i, s := range speeds {
			if s > 0 {
				b.Nodes[nodes[i].ID] = LearntSpeed{Hostname: nodes[i].Hostname, Speed: s, Prior: nodes[i].Weight, Jobs: 1, Updated: now}
			}
		}
		return b
	}
	cases := []struct {
		name      string
		book      SpeedBook
		nodes     []Node
		rates     []float64 // what the job measured, fps
		wantStart []float64
		wantSpeed map[string]float64 // after the job
	}{
		{"first job: ratios learnt in the weights' units, totals kept", learnt(), nodes, []float64{30, 30, 30},
			[]float64{1, 1, 12}, map[string]float64{"n1": 14.0 / 3, "n2": 14.0 / 3, "n3": 14.0 / 3}},
		{"second job: anchored on the nodes measured before, halfway to the new figure", learnt(14.0/3, 14.0/3, 14.0/3), nodes, []float64{10, 10, 20},
			[]float64{14.0 / 3, 14.0 / 3, 14.0 / 3}, map[string]float64{"n1": (14.0/3 + 3.5) / 2, "n2": (14.0/3 + 3.5) / 2, "n3": (14.0/3 + 7) / 2}},
		{"a new node is scaled by the measured ones", learnt(4, 4, 0), nodes, []float64{20, 20, 40},
			[]float64{4, 4, 12}, map[string]float64{"n1": 4, "n2": 4, "n3": 8}},
		{"a changed label drops what was learnt", learnt(4, 4, 4), []Node{nodes[0], nodes[1], {ID: "n3", Hostname: "c", Weight: 6, Slots: 1}}, []float64{0, 0, 0},
			[]float64{4, 4, 6}, map[string]float64{"n1": 4, "n2": 4, "n3": 4}},
		{"nothing measured: the book is kept", learnt(2, 0, 0), nodes, []float64{0, 0, 0},
			[]float64{2, 1, 12}, map[string]float64{"n1": 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := c.book.StartSpeeds(c.nodes)
			var got []float64
			for _, s := range start {
				got = append(got, s.Speed)
			}
			assert.InDeltaSlice(t, c.wantStart, got, 1e-9)
			after := c.book.Learn(c.nodes, start, c.rates, now.Add(time.Hour))
			require.Len(t, after.Nodes, len(c.wantSpeed))
			for id, want := range c.wantSpeed {
				assert.InDelta(t, want, after.Nodes[id].Speed, 1e-9, id)
			}
		})
	}
}

func TestSpeedBookRoundTrip(t *testing.T) {
	nodes := []Node{{ID: "n1", Hostname: "a", Weight: 2, Slots: 2}}
	b, err := ParseSpeedBook(nil)
	require.NoError(t, err)
	start := b.StartSpeeds(nodes)
	assert.False(t, start[0].Measured, "never measured")
	b = b.Learn(nodes, start, []float64{25}, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	raw, err := b.Marshal()
	require.NoError(t, err)
	again, err := ParseSpeedBook(raw)
	require.NoError(t, err)
	assert.Equal(t, b, again)
	l, ok := again.Lookup(nodes[0])
	require.True(t, ok)
	assert.Equal(t, 25.0, l.FPS)
	assert.Equal(t, 1, l.Jobs)
	assert.True(t, again.StartSpeeds(nodes)[0].Measured)
	_, err = ParseSpeedBook([]byte("{"))
	assert.Error(t, err)
}

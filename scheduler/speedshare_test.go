package scheduler

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSpeedReasons(t *testing.T) {
	nodes := []SpeedNode{{Name: "a", Speed: 1, Slots: 1}, {Name: "b", Speed: 1, Slots: 1}, {Name: "c", Speed: 12, Slots: 2, Measured: true}}
	cases := []struct {
		name   string
		learnt []float64
		why    []NodeAccount
		want   []string
	}{
		{"shares of the measured nodes, slots counted", []float64{30, 30, 30}, []NodeAccount{{Probed: true}, {}, {}}, []string{
			"measured 30.0 fps per slot: 25% of the speed of the 3 nodes measured, against 4% by its weight; never measured before: it got a first small segment so that its speed is learnt, not assumed",
			"measured 30.0 fps per slot: 25% of the speed of the 3 nodes measured, against 4% by its weight",
			"measured 30.0 fps per slot: 50% of the speed of the 3 nodes measured, against 92% by the speed learnt in earlier jobs",
		}},
		{"only the measured nodes are compared", []float64{0, 10, 10}, nil, []string{
			"",
			"measured 10.0 fps per slot: 33% of the speed of the 2 nodes measured, against 4% by its weight",
			"measured 10.0 fps per slot: 67% of the speed of the 2 nodes measured, against 96% by the speed learnt in earlier jobs",
		}},
		{"one node measured: nothing to compare", []float64{0, 0, 10}, nil, []string{
			"", "", "measured 10.0 fps per slot; the only node measured, nothing to compare it with",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, SpeedReasons(nodes, c.learnt, c.why))
		})
	}
}

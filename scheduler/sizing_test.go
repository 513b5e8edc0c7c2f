package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSegmentDuration(t *testing.T) {
	swarm := SizingModel{Startup: 1500 * time.Millisecond}
	for _, tc := range []struct {
		name  string
		m     SizingModel
		video time.Duration
		slots int
		want  time.Duration
	}{
		// K* = sqrt(7*7200/3) = 129.61 -> 55.55 s
		{"2 h movie on 8 slots", swarm, 2 * time.Hour, 8, 55549 * time.Millisecond},
		// K* = sqrt(2*120/3) = 8.94, at least 6 -> 13.42 s
		{"2 min clip on 3 slots", swarm, 2 * time.Minute, 3, 13416 * time.Millisecond},
		// K* = sqrt(1*10/3) = 1.83 < 2 per slot (4) -> 2.5 s
		{"short clip: two segments per slot", swarm, 10 * time.Second, 2, 2500 * time.Millisecond},
		// one slot has no tail: one segment
		{"one slot: the whole video", swarm, time.Minute, 1, time.Minute},
		{"clamped to the minimum", SizingModel{Startup: time.Millisecond}, time.Minute, 4, 2 * time.Second},
		{"clamped to the maximum", SizingModel{Startup: time.Minute}, 10 * time.Hour, 1, 120 * time.Second},
		// slower encodes (r=4) make segments shorter: K* doubles
		{"slow encode", SizingModel{Startup: 1500 * time.Millisecond, Realtime: 4}, 2 * time.Hour, 8, 27775 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.m.SegmentDuration(tc.video, tc.slots)
			assert.InDelta(t, tc.want.Seconds(), got.Seconds(), 0.01)
		})
	}
}

package media

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTimestampBreaks(t *testing.T) {
	tb := Rational{Num: 1, Den: 90000}
	// run builds n video packets (stream 0) of 25 fps from dts on.
	run := func(dts int64, n int) []Packet {
		var out []Packet
		for i := 0; i < n; i++ {
			out = append(out, Packet{Stream: 0, DTS: dts + int64(i)*3600, PTS: dts + int64(i)*3600 + 7200, Duration: 3600})
		}
		return out
	}
	cat := func(parts ...[]Packet) []Packet {
		var out []Packet
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, tt := range []struct {
		name string
		pkts []Packet
		want []Break
	}{
		{"continuous", run(126000, 50), nil},
		{"splice that repeats the timestamps", cat(run(126000, 100), run(126000, 75)),
			[]Break{{Packet: 100, DTS: 126000, Expected: 126000 + 100*3600}}},
		{"jump forward past 10 s", cat(run(0, 10), run(36000+90000*11, 10)),
			[]Break{{Packet: 10, DTS: 36000 + 90000*11, Expected: 36000}}},
		{"gap under 10 s is kept", cat(run(0, 10), run(36000+90000*9, 10)), nil},
		{"one step back under 0.1 s is kept", cat(run(0, 10), run(36000-3600*2, 10)), nil},
		{"back by more than 0.1 s", cat(run(0, 10), run(36000-9001*2, 10)),
			[]Break{{Packet: 10, DTS: 36000 - 18002, Expected: 36000}}},
		{"other streams, discarded and dts-less packets are skipped", cat(
			run(0, 3),
			[]Packet{{Stream: 1, DTS: 0}, {Stream: 0, DTS: 0, Discard: true}, {Stream: 0, DTS: NoPTS}},
			run(10800, 3)), nil},
		{"packet index counts dts-less packets of the stream", cat(
			run(0, 5), []Packet{{Stream: 0, DTS: NoPTS}}, run(0, 3)),
			[]Break{{Packet: 6, DTS: 0, Expected: 18000}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, TimestampBreaks(tt.pkts, 0, tb))
		})
	}
}

func TestRepairsTimestamps(t *testing.T) {
	assert.True(t, RepairsTimestamps("mpegts"))
	assert.True(t, RepairsTimestamps("mpeg"))
	assert.False(t, RepairsTimestamps("mov,mp4,m4a,3gp,3g2,mj2"))
	assert.False(t, RepairsTimestamps("matroska,webm"))
}

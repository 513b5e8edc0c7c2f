package media

import (
	"strings"
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
			[]Break{{Packet: 100, DTS: 126000, Expected: 126000 + 100*3600, Last: 126000 + 99*3600}}},
		{"jump forward past 10 s", cat(run(0, 10), run(36000+90000*11, 10)),
			[]Break{{Packet: 10, DTS: 36000 + 90000*11, Expected: 36000, Last: 32400}}},
		{"gap under 10 s is kept", cat(run(0, 10), run(36000+90000*9, 10)), nil},
		{"one step back under 0.1 s is kept", cat(run(0, 10), run(36000-3600*2, 10)), nil},
		{"back by more than 0.1 s", cat(run(0, 10), run(36000-9001*2, 10)),
			[]Break{{Packet: 10, DTS: 36000 - 18002, Expected: 36000, Last: 32400}}},
		{"other streams, discarded and dts-less packets are skipped", cat(
			run(0, 3),
			[]Packet{{Stream: 1, DTS: 0}, {Stream: 0, DTS: 0, Discard: true}, {Stream: 0, DTS: NoPTS}},
			run(10800, 3)), nil},
		{"packet index counts dts-less packets of the stream", cat(
			run(0, 5), []Packet{{Stream: 0, DTS: NoPTS}}, run(0, 3)),
			[]Break{{Packet: 6, DTS: 0, Expected: 18000, Last: 14400}}},
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

func TestParseCorrupt(t *testing.T) {
	// Captured from ffprobe 5.1 -v warning on an MPEG-TS with bytes
	// overwritten in the middle.
	const stderr = `[mpegts @ 0x55d5205325c0] Packet corrupt (stream = 0, dts = 396000).
[mpegts @ 0x55d5205325c0] PES packet size mismatch
[mpegts @ 0x55d5205325c0] Packet corrupt (stream = 1, dts = 390245).
[mpegts @ 0x55d5205325c0] Packet corrupt (stream = 0, dts = NOPTS).
[mpegts @ 0x55d5205325c0] probed stream 2 failed
`
	assert.Equal(t, []Corrupt{{Stream: 0, DTS: 396000}, {Stream: 1, DTS: 390245}, {Stream: 0, DTS: NoPTS}},
		ParseCorrupt(strings.NewReader(stderr)))
	assert.Empty(t, ParseCorrupt(strings.NewReader("")))
}

func TestDamageReport(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"clean run", nil, ""},
		{"progress reports only (a swarm task's log)", []string{"frame=25", "fps=0.00", "progress=end"}, ""},
		{"frames before the seek point lack their references", []string{
			"[h264 @ 0x55c3e1e83c40] Missing reference picture, default is 0",
			"[h264 @ 0x55c3e1e83c40] decode_slice_header error",
			"[h264 @ 0x55c3e1e83c40] no frame!",
			"[h264 @ 0x55c3e1d8fe40] co located POCs unavailable",
		}, ""},
		{"damaged macroblocks", []string{
			"frame=10",
			"[h264 @ 0x55c3e1d8fe40] co located POCs unavailable",
			"[h264 @ 0x55878178bd00] mb_type 5185 in P slice too large at 1 2",
			"[h264 @ 0x55878178bd00] error while decoding MB 1 2",
		}, "h264: mb_type 5185 in P slice too large at 1 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, DamageReport(tt.lines))
		})
	}
}

func TestGOPEnds(t *testing.T) {
	pkts := []Packet{
		{Stream: 0, DTS: 0, Key: true}, {Stream: 1, DTS: 5}, {Stream: 0, DTS: 10},
		{Stream: 0, DTS: 20, Discard: true}, {Stream: 0, DTS: 30, Key: true}, {Stream: 0, DTS: 40},
		{Stream: 1, DTS: 45, Key: true}, {Stream: 0, DTS: 50, Key: true},
	}
	assert.Equal(t, map[int64]bool{10: true, 40: true}, GOPEnds(pkts, 0))
}

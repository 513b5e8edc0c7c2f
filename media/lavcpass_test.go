package media

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePassLog(t *testing.T) {
	// Two frames of an mpeg4 first pass, written out of display order as
	// with B frames.
	log := "in:1 out:1 type:2 q:236 itex:9670 ptex:28986 mv:2282 misc:16007 fcode:1 bcode:1 mc-var:1310 var:698070 icount:597 skipcount:2069 hbits:55;\n" +
		"in:0 out:0 type:1 q:664 itex:152776 ptex:0 mv:0 misc:22293 fcode:1 bcode:1 mc-var:0 var:698056 icount:3600 skipcount:0 hbits:483;\n"
	frames, err := ParsePassLog(log)
	require.NoError(t, err)
	assert.Equal(t, []PassFrame{
		{Intra: true, Q: 664, Tex: 152776, Other: 22293},
		{Intra: false, Q: 236, Tex: 9670 + 28986, Other: 2282 + 16007},
	}, frames)
	for _, bad := range []string{"in:0 out:0 type:1 q:x;", "in:0 type:1 q:2 itex:1 ptex:1 mv:1;", "in:0 type"} {
		_, err := ParsePassLog(bad)
		assert.Error(t, err, bad)
	}
}

func TestLavcSpendShape(t *testing.T) {
	still := make([]PassFrame, 50)
	busy := make([]PassFrame, 50)
	for i := range still {
		still[i] = PassFrame{Intra: i%10 == 0, Q: 4 * lambdaPerQP, Tex: 200, Other: 100}
		busy[i] = PassFrame{Intra: i%10 == 0, Q: 4 * lambdaPerQP, Tex: 200000, Other: 2000}
		if still[i].Intra {
			still[i].Tex, busy[i].Tex = 40000, 400000
		}
	}
	budget := 4e6
	spend, least := LavcSpend(nil, [][]PassFrame{still, busy}, budget)
	assert.InEpsilon(t, budget, spend[0]+spend[1], 0.01, "the shares make the budget")
	// The still segment is coded at the finest quantiser (2), so it takes
	// about twice its bits at 4, and no more.
	atFinest := 0.0
	for _, f := range still {
		q := 2.0
		if f.Intra {
			q = 1.6
		}
		atFinest += f.Tex*4/q + f.Other
	}
	assert.InEpsilon(t, atFinest, spend[0], 0.05, "the still segment at the finest quantiser")
	assert.Greater(t, spend[1], 5*spend[0])
	assert.Less(t, least[0], spend[0])
	assert.Less(t, least[1], spend[1])

	// A higher qcomp flattens the quantisers: the busy segment then takes
	// more of the budget.
	flat, _ := LavcSpend([]string{"-qcomp", "0.9"}, [][]PassFrame{still, busy}, budget)
	assert.Greater(t, flat[1], spend[1])
}

// TestLavcSpendPredictsFFmpeg runs FFmpeg's own two-pass over a clip of a
// still scene and a busy one, and checks that LavcSpend, given each
// scene's own first pass at the target, shares the bits between the two
// scenes as the whole-file second pass did.
func TestLavcSpendPredictsFFmpeg(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "scenes.nut")
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error", "-y"}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	run("-f", "lavfi", "-i", "smptehdbars=s=320x240:r=25:d=4",
		"-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4,noise=alls=20:allf=t",
		"-filter_complex", "[0:v]format=yuv420p[a];[1:v]format=yuv420p[b];[a][b]concat=n=2:v=1:a=0[v]",
		"-map", "[v]", "-c:v", "ffv1", src)
	const rate = 1e6
	video := []string{"-c:v", "mpeg4", "-b:v", "1M"}
	whole := filepath.Join(dir, "whole")
	run(append(append([]string{"-i", src}, video...), "-pass", "1", "-passlogfile", whole, "-f", "null", "-")...)
	twoPass := filepath.Join(dir, "two.nut")
	run(append(append([]string{"-i", src}, video...), "-pass", "2", "-passlogfile", whole, twoPass)...)
	sizes, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "packet=size", "-of", "csv=p=0", twoPass).Output()
	require.NoError(t, err)
	var made [2]float64
	for i, s := range strings.Fields(string(sizes)) {
		v, err := strconv.ParseFloat(strings.Trim(s, ","), 64)
		require.NoError(t, err)
		made[min(i/100, 1)] += 8 * v
	}

	var scenes [][]PassFrame
	for i := 0; i < 2; i++ {
		prefix := filepath.Join(dir, fmt.Sprintf("scene%d", i))
		run(append(append([]string{"-ss", strconv.Itoa(4 * i), "-i", src, "-frames:v", "100"}, video...),
			"-pass", "1", "-passlogfile", prefix, "-f", "null", "-")...)
		frames, err := ReadPassLog(prefix)
		require.NoError(t, err)
		require.Len(t, frames, 100)
		scenes = append(scenes, frames)
	}
	// The budget is what the two-pass made, so that the shares compare
	// even where it missed the target.
	spend, _ := LavcSpend(video, scenes, made[0]+made[1])
	t.Logf("bits made by the whole-file two-pass at %.0f bit/s: %.0f/%.0f, predicted %.0f/%.0f",
		rate, made[0], made[1], spend[0], spend[1])
	for i := range spend {
		assert.InEpsilon(t, made[i], spend[i], 0.15, "scene %d", i)
	}
	// A split by bits at one constant quality gives the still scene far
	// less than FFmpeg's two-pass does; the prediction must not.
	assert.Greater(t, spend[0]/(spend[0]+spend[1]), 0.5*made[0]/(made[0]+made[1]))
}

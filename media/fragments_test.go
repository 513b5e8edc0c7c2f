package media

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Captured from ffprobe on an init segment and two media segments joined
// (shortened): the second segment starts at byte 1000.
const fragmentsReport = `packet|pts=0|dts=-1024|duration=512|size=300|pos=100|flags=K_
packet|pts=1024|dts=-512|duration=512|size=200|pos=400|flags=__
packet|pts=512|dts=0|duration=512|size=100|pos=600|flags=__
packet|pts=1536|dts=512|duration=512|size=250|pos=1100|flags=K_
packet|pts=2048|dts=1024|duration=512|size=50|pos=1400|flags=__
stream|time_base=1/512
`

func TestParseFragments(t *testing.T) {
	frags, err := ParseFragments(fragmentsReport, []int64{1000, 2000})
	require.NoError(t, err)
	assert.Equal(t, []Fragment{
		{Packets: 3, Bytes: 600, FirstKey: true, Start: 0, End: 3},
		{Packets: 2, Bytes: 300, FirstKey: true, Start: 3, End: 5},
	}, frags)

	// A segment that starts on a frame that is not a keyframe.
	frags, err = ParseFragments(fragmentsReport, []int64{500, 2000})
	require.NoError(t, err)
	assert.True(t, frags[0].FirstKey)
	assert.False(t, frags[1].FirstKey)
	assert.Equal(t, 3, frags[1].Packets)

	_, err = ParseFragments(fragmentsReport, []int64{1000, 1200})
	assert.ErrorContains(t, err, "past the last segment")
	_, err = ParseFragments("packet|pts=0|size=1|pos=0|flags=K_\n", []int64{10})
	assert.ErrorContains(t, err, "time base")
}

// TestDecodesClean joins two libx264 encodes of different quantisers with stream
// copy: without stitchable the second decodes into errors (every frame
// still there), with it the join is clean.
func TestDecodesClean(t *testing.T) {
	dir := t.TempDir()
	join := func(params string) string {
		var parts []string
		for i, qp := range []string{"10", "40"} {
			p := filepath.Join(dir, fmt.Sprintf("%s-%d.nut", params, i))
			args := []string{"-y", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=320x240:r=25:d=1,trim=start_frame=%d", i*10),
				"-c:v", "libx264", "-preset", "veryfast", "-qp", qp, "-x264-params", params, "-f", "nut", p}
			require.NoError(t, RunFFmpeg(context.Background(), args, nil))
			parts = append(parts, "file '"+p+"'")
		}
		list := filepath.Join(dir, params+".ffconcat")
		require.NoError(t, os.WriteFile(list, []byte("ffconcat version 1.0\n"+strings.Join(parts, "\n")+"\n"), 0o644))
		out := filepath.Join(dir, params+".mp4")
		require.NoError(t, RunFFmpeg(context.Background(), []string{"-y", "-f", "concat", "-safe", "0", "-i", list, "-c", "copy", out}, nil))
		return out
	}
	err := DecodesClean(context.Background(), join("stitchable=0"), "h264")
	assert.ErrorContains(t, err, "does not decode cleanly")
	assert.NoError(t, DecodesClean(context.Background(), join("stitchable=1"), "h264"))
}

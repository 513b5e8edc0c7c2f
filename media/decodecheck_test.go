package media

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two x264 segments encoded at very different qualities carry different
// picture parameter sets; joined by stream copy into MP4, only the first
// set reaches the header and the second segment decodes into garbage with
// the right number of frames. CheckJoins sees it; Joinable prevents it.
func TestCheckJoinsSeesMismatchedParameterSets(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	join := func(name string, video []string) string {
		var list string
		for i, crf := range []string{"45", "10"} {
			seg := filepath.Join(dir, name+string(rune('0'+i))+".nut")
			args := []string{"-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1",
				"-c:v", "libx264", "-preset", "veryfast", "-crf", crf}
			args = append(append(args, video...), "-f", "nut", seg)
			out, err := exec.Command("ffmpeg", args...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			list += "file '" + seg + "'\n"
		}
		listFile := filepath.Join(dir, name+".txt")
		require.NoError(t, os.WriteFile(listFile, []byte(list), 0o644))
		mp4 := filepath.Join(dir, name+".mp4")
		out, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", listFile, "-c", "copy", mp4).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return mp4
	}
	// x264 tunes its initial quantiser to the quality or rate asked for;
	// with CABAC (not in ultrafast) a wrong one derails the decoder.
	bad := join("plain", nil)
	err := CheckJoins(ctx, bad, []float64{1}, "h264")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not decode cleanly after the join at 1.000 s")
	good := join("stitchable", Joinable("libx264", nil))
	assert.NoError(t, CheckJoins(ctx, good, []float64{1}, "h264"))
}

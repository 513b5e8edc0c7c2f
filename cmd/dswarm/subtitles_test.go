package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

func streamCodecs(t *testing.T, path, sel string) []string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", sel, "-show_entries", "stream=codec_name", "-of", "csv=p=0", path).Output()
	require.NoError(t, err)
	return strings.Fields(string(out))
}

// TestSubtitles checks that subtitle streams are copied where the output
// container takes them, converted for MP4, and dropped with a warning where
// it cannot hold them.
func TestSubtitles(t *testing.T) {
	src := testmedia.Generate(t, testmedia.Subtitles)
	for _, tc := range []struct {
		ext      string
		want     []string
		warnings string
	}{
		{".mkv", []string{"subrip"}, ""},
		{".mp4", []string{"mov_text"}, ""},
		{".ts", []string{}, "dropping subtitle stream #2 (subrip): the mpegts container takes no text subtitles"},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out"+tc.ext)
			code, _, stderr := transcode(t, "--local", "--segment-duration", "1s", src, "-o", out, "-c:v", "libx264", "-preset", "ultrafast")
			require.Equal(t, 0, code, stderr)
			assert.Equal(t, tc.want, streamCodecs(t, out, "s"))
			if tc.warnings != "" {
				assert.Contains(t, stderr, tc.warnings)
			}
		})
	}
}

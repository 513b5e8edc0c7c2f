package media

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSubtitleTableAgainstFFmpeg checks the text part of the subtitle table
// against the installed ffmpeg: every muxer stores exactly the text codecs
// the table says it takes, as subtitles that read back with that codec
// (the mpeg muxer takes any stream and reads it back as DVD subtitles; the
// table must not believe it; Matroska stores plain text as SubRip). Image subtitles have no encoder from text;
// cmd/dswarm/keep_test.go muxes real PGS, DVB and DVD streams.
func TestSubtitleTableAgainstFFmpeg(t *testing.T) {
	dir := t.TempDir()
	srt := filepath.Join(dir, "in.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:00,500 --> 00:00:01,500\nline\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	encoders := map[string]string{"subrip": "srt", "ass": "ass", "webvtt": "webvtt", "mov_text": "mov_text", "text": "text"}
	for _, muxer := range []string{"mp4", "mov", "ipod", "3gp", "matroska", "webm", "mpegts", "nut", "avi", "flv", "ogg", "mxf", "asf", "mpeg"} {
		for codec, encoder := range encoders {
			out := filepath.Join(dir, muxer+"-"+codec)
			err := exec.Command("ffmpeg", "-nostdin", "-v", "quiet", "-y", "-i", srt, "-c:s", encoder, "-f", muxer, out).Run()
			stored := false
			if err == nil {
				b, _ := exec.Command("ffprobe", "-v", "quiet", "-select_streams", "s", "-show_entries", "stream=codec_name", "-of", "csv=p=0", out).Output()
				want := codec
				if muxer == "matroska" && codec == "text" {
					want = "subrip" // S_TEXT/UTF8, the same thing
				}
				stored = strings.TrimSpace(string(b)) == want
			}
			_, tableErr := SubtitleCodec(muxer, codec, "copy")
			assert.Equal(t, stored, tableErr == nil, "%s with %s subtitles: ffmpeg stores them: %v; the table: %v", muxer, codec, stored, tableErr)
		}
	}
}

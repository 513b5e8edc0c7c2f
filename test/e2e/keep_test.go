//go:build e2e

package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

type subStream struct {
	Codec    string
	Language string
	Title    string
	Default  bool
	Forced   bool
}

func subtitleStreams(t *testing.T, path string) []subStream {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "s", "-show_streams", "-of", "json", path).Output()
	require.NoError(t, err)
	var pj struct {
		Streams []struct {
			Codec       string            `json:"codec_name"`
			Tags        map[string]string `json:"tags"`
			Disposition map[string]int    `json:"disposition"`
		} `json:"streams"`
	}
	require.NoError(t, json.Unmarshal(out, &pj))
	var subs []subStream
	for _, s := range pj.Streams {
		subs = append(subs, subStream{Codec: s.Codec, Language: s.Tags["language"], Title: s.Tags["title"],
			Default: s.Disposition["default"] == 1, Forced: s.Disposition["forced"] == 1})
	}
	return subs
}

// TestSwarmSubtitles: subtitles reach the output through the swarm's
// merge task as through a local one: SRT and ASS (its first event after
// the first second) copied into MKV with their languages, titles and
// dispositions, mov_text converted to ASS for MKV, and the font attachment
// kept.
func TestSwarmSubtitles(t *testing.T) {
	for _, tc := range []struct {
		spec testmedia.Spec
		want []subStream
	}{
		{testmedia.Tagged, []subStream{
			{Codec: "subrip", Language: "deu", Default: true},
			{Codec: "ass", Language: "eng", Title: "Signs", Forced: true},
		}},
		{testmedia.ASSLate, []subStream{{Codec: "ass"}}},
		{testmedia.MovText, []subStream{{Codec: "ass", Language: "eng", Default: true}}},
		{testmedia.Attachment, []subStream{{Codec: "ass"}}},
	} {
		t.Run(tc.spec.Name, func(t *testing.T) {
			src := testmedia.Generate(t, tc.spec)
			out := filepath.Join(t.TempDir(), "out.mkv")
			transcodeSwarm(t, src, out, "1s", "-c:v", "libx264", "-preset", "ultrafast")
			assert.Equal(t, tc.want, subtitleStreams(t, out))
			if tc.spec.Name == testmedia.Attachment.Name {
				att, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "t", "-show_entries", "stream_tags=filename,mimetype", "-of", "csv=p=0", out).Output()
				require.NoError(t, err)
				assert.Equal(t, "font.ttf,application/x-truetype-font\n", string(att))
			}
			assertNoServices(t)
		})
	}
}

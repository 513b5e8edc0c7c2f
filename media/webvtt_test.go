package media

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const smallMPD = `<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static">
	<Period id="0" start="PT0.0S">
		<AdaptationSet id="0" contentType="video">
		</AdaptationSet>
	</Period>
</MPD>
`

func TestAddMPDSubtitles(t *testing.T) {
	out, err := AddMPDSubtitles(smallMPD, []Rendition{{URI: "sub_0.vtt", Name: "English & more", Language: "en"}, {URI: "sub_1.vtt"}}, 2)
	require.NoError(t, err)
	assert.Contains(t, out, "\t\t</AdaptationSet>\n\t\t<AdaptationSet id=\"2\" contentType=\"text\" mimeType=\"text/vtt\" lang=\"en\">\n")
	assert.Contains(t, out, "<Label>English &amp; more</Label>")
	assert.Contains(t, out, "<AdaptationSet id=\"3\" contentType=\"text\" mimeType=\"text/vtt\">")
	assert.True(t, strings.HasSuffix(out, "\t\t</AdaptationSet>\n\t</Period>\n</MPD>\n"))
	var doc struct {
		Sets []struct {
			ID      string `xml:"id,attr"`
			BaseURL string `xml:"Representation>BaseURL"`
		} `xml:"Period>AdaptationSet"`
	}
	require.NoError(t, xml.Unmarshal([]byte(out), &doc))
	require.Len(t, doc.Sets, 3)
	assert.Equal(t, "sub_1.vtt", doc.Sets[2].BaseURL)

	_, err = AddMPDSubtitles("<MPD></MPD>", []Rendition{{URI: "a.vtt"}}, 1)
	assert.Error(t, err)
	_, err = AddMPDSubtitles(strings.Replace(smallMPD, "<Period id=\"0\"", "<Period id=\"0\"></Period><Period", 1), []Rendition{{URI: "a.vtt"}}, 1)
	assert.Error(t, err, "two periods")
}

func TestSubtitlePlaylist(t *testing.T) {
	text := SubtitlePlaylist("sub_0.vtt", 10.023)
	p, err := ParseMediaPlaylist(text)
	require.NoError(t, err)
	assert.Equal(t, 11, p.TargetDuration)
	assert.Equal(t, []PlaylistSegment{{URI: "sub_0.vtt", Duration: 10.023}}, p.Segments)
	assert.True(t, p.EndList)
}

func TestSubtitleCommand(t *testing.T) {
	c := SubtitleCommand{Input: "in.mkv", Streams: []int{3, 4}, Outputs: []string{"a.vtt", "b.vtt"}}
	assert.Equal(t, "-y -i in.mkv -map 0:3 -c:s webvtt -f webvtt a.vtt -map 0:4 -c:s webvtt -f webvtt b.vtt", strings.Join(c.Args(), " "))
	assert.True(t, IsTextSubtitle("subrip"))
	assert.True(t, IsTextSubtitle("ass"))
	assert.False(t, IsTextSubtitle("hdmv_pgs_subtitle"))
}

func TestParseStreamTags(t *testing.T) {
	tags, err := ParseStreamTags([]byte(`{"streams": [{"index": 0}, {"index": 1, "tags": {"LANGUAGE": "fra", "title": "Français"}}]}`))
	require.NoError(t, err)
	assert.Equal(t, map[int]map[string]string{0: {}, 1: {"language": "fra", "title": "Français"}}, tags)
	_, err = ParseStreamTags([]byte("nope"))
	assert.Error(t, err)
}

package media

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMediaPlaylist(t *testing.T) {
	// Written by ffmpeg 5.1's dash muxer with hls_playlist=1.
	b, err := os.ReadFile("testdata/dashenc_media.m3u8")
	require.NoError(t, err)
	p, err := ParseMediaPlaylist(string(b))
	require.NoError(t, err)
	assert.Equal(t, 6, p.Version)
	assert.Equal(t, 4, p.TargetDuration)
	assert.Equal(t, "init-3.m4s", p.Map)
	assert.True(t, p.EndList)
	require.Len(t, p.Segments, 4)
	assert.Equal(t, PlaylistSegment{URI: "seg-3-00002.m4s", Duration: 4.017052}, p.Segments[1])
	starts := p.Starts()
	assert.InDeltaSlice(t, []float64{0, 3.924172, 7.941224, 11.958276}, starts, 1e-9)

	vod := VODPlaylist(string(b))
	assert.NotContains(t, vod, "PROGRAM-DATE-TIME")
	assert.Contains(t, vod, "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-VERSION:6\n")
	again, err := ParseMediaPlaylist(vod)
	require.NoError(t, err)
	assert.Equal(t, p, again, "the rewrite keeps every segment")
	assert.Equal(t, vod, VODPlaylist(vod), "the rewrite is idempotent")
}

func TestParseMediaPlaylistErrors(t *testing.T) {
	for name, text := range map[string]string{
		"empty":      "",
		"not m3u":    "hello\n",
		"no extinf":  "#EXTM3U\nseg.m4s\n",
		"bad extinf": "#EXTM3U\n#EXTINF:abc,\nseg.m4s\n",
		"bad target": "#EXTM3U\n#EXT-X-TARGETDURATION:x\n",
		"neg extinf": "#EXTM3U\n#EXTINF:-1,\nseg.m4s\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseMediaPlaylist(text)
			assert.Error(t, err)
		})
	}
}

func TestAttr(t *testing.T) {
	list := `URI="init, 0.m4s",BYTERANGE=100@0,NAME=x`
	assert.Equal(t, "init, 0.m4s", attr(list, "URI"))
	assert.Equal(t, "100@0", attr(list, "BYTERANGE"))
	assert.Equal(t, "x", attr(list, "NAME"))
	assert.Equal(t, "", attr(list, "NOPE"))
}

func TestMasterPlaylist(t *testing.T) {
	m := MasterPlaylist{
		Audio: []Rendition{{URI: "media_2.m3u8", Name: "English", Language: "en", Default: true}, {URI: "media_3.m3u8", Name: `Fr"ench`}},
		Variants: []Variant{
			{URI: "media_0.m3u8", Bandwidth: 4628000, AverageBandwidth: 3100000, Width: 1280, Height: 720, FrameRate: 25, Codecs: "avc1.64001f,mp4a.40.2"},
			{URI: "media_1.m3u8", Bandwidth: 1028000, Width: 640, Height: 360, Codecs: "avc1.64001e,mp4a.40.2"},
		},
	}
	assert.Equal(t, `#EXTM3U
#EXT-X-VERSION:7
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,URI="media_2.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="French",DEFAULT=NO,AUTOSELECT=YES,URI="media_3.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=4628000,AVERAGE-BANDWIDTH=3100000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=25.000,AUDIO="audio"
media_0.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=1028000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,AUDIO="audio"
media_1.m3u8
`, m.String())
}

func TestStrictMPD(t *testing.T) {
	in := `<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" bitstreamSwitching="true" frameRate="25/1">`
	assert.Equal(t, `<AdaptationSet id="0" contentType="video" startWithSAP="1" segmentAlignment="true" frameRate="25/1">`, StrictMPD(in))
}

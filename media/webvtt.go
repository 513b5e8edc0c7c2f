package media

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// IsTextSubtitle reports whether a subtitle codec is text, which converts
// to WebVTT (bitmaps do not).
func IsTextSubtitle(codec string) bool { return textSubtitles[codec] }

// SubtitleCommand converts text subtitle streams to WebVTT files, one per
// stream, on the source's timeline (as the ladder's audio and video are).
type SubtitleCommand struct {
	Input   string
	Streams []int // absolute stream indexes
	Outputs []string
}

// Args is the ffmpeg argument list.
func (c SubtitleCommand) Args() []string {
	args := []string{"-y", "-i", c.Input}
	for i, s := range c.Streams {
		args = append(args, "-map", "0:"+strconv.Itoa(s), "-c:s", "webvtt", "-f", "webvtt", c.Outputs[i])
	}
	return args
}

// SubtitlePlaylist is an HLS media playlist of one WebVTT file that spans
// the whole title: a player fetches it once.
func SubtitlePlaylist(uri string, seconds float64) string {
	return fmt.Sprintf("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:%d\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:%.6f,\n%s\n#EXT-X-ENDLIST\n",
		int(math.Ceil(seconds)), seconds, uri)
}

// AddMPDSubtitles adds each WebVTT file as a text adaptation set of its own
// to a DASH manifest with one period (ffmpeg's DASH muxer segments no
// WebVTT): the file is the representation's one segment (BaseURL).
func AddMPDSubtitles(mpd string, subs []Rendition, firstID int) (string, error) {
	end := strings.LastIndex(mpd, "</Period>")
	if end < 0 || strings.Count(mpd, "<Period") != 1 {
		return "", fmt.Errorf("manifest: want exactly one Period to add subtitles to")
	}
	var b strings.Builder
	for i, s := range subs {
		id := firstID + i
		fmt.Fprintf(&b, "\t\t<AdaptationSet id=\"%d\" contentType=\"text\" mimeType=\"text/vtt\"", id)
		if s.Language != "" {
			fmt.Fprintf(&b, " lang=\"%s\"", xmlAttr(s.Language))
		}
		b.WriteString(">\n")
		fmt.Fprintf(&b, "\t\t\t<Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"subtitle\" />\n")
		if s.Name != "" {
			fmt.Fprintf(&b, "\t\t\t<Label>%s</Label>\n", xmlAttr(s.Name))
		}
		fmt.Fprintf(&b, "\t\t\t<Representation id=\"sub%d\" bandwidth=\"256\">\n\t\t\t\t<BaseURL>%s</BaseURL>\n\t\t\t</Representation>\n\t\t</AdaptationSet>\n",
			i, xmlAttr(s.URI))
	}
	line := strings.LastIndex(mpd[:end], "\n") + 1 // the Period's closing line
	return mpd[:line] + b.String() + mpd[line:], nil
}

func xmlAttr(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

// StreamTags reads every stream's tags (language, title, ...), by stream
// index.
func StreamTags(ctx context.Context, path string) (map[int]map[string]string, error) {
	out, err := runTool(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=index:stream_tags", "-of", "json", "--", path)
	if err != nil {
		return nil, err
	}
	return ParseStreamTags(out)
}

// ParseStreamTags parses `ffprobe -show_entries stream=index:stream_tags
// -of json`.
func ParseStreamTags(data []byte) (map[int]map[string]string, error) {
	var v struct {
		Streams []struct {
			Index int               `json:"index"`
			Tags  map[string]string `json:"tags"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("stream tags: %w", err)
	}
	tags := map[int]map[string]string{}
	for _, s := range v.Streams {
		t := map[string]string{}
		for k, val := range s.Tags {
			t[strings.ToLower(k)] = val
		}
		tags[s.Index] = t
	}
	return tags, nil
}

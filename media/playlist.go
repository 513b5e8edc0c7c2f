package media

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// MediaPlaylist is what dswarm reads of an HLS media (variant) playlist.
type MediaPlaylist struct {
	Version        int
	TargetDuration int
	Map            string // the fMP4 init segment's URI
	Segments       []PlaylistSegment
	EndList        bool
}

// PlaylistSegment is one media segment of a playlist.
type PlaylistSegment struct {
	URI      string
	Duration float64 // seconds, from #EXTINF
}

// Starts are the segments' start times from the playlist's first: the
// running sum of their durations, as a player computes them.
func (p MediaPlaylist) Starts() []float64 {
	starts := make([]float64, len(p.Segments))
	t := 0.0
	for i, s := range p.Segments {
		starts[i] = t
		t += s.Duration
	}
	return starts
}

// ParseMediaPlaylist parses an HLS media playlist.
func ParseMediaPlaylist(text string) (MediaPlaylist, error) {
	var p MediaPlaylist
	sc := bufio.NewScanner(strings.NewReader(text))
	n := 0
	pending := -1.0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		switch {
		case n == 1:
			if line != "#EXTM3U" {
				return p, fmt.Errorf("playlist line 1: %q, want #EXTM3U", line)
			}
		case line == "":
		case strings.HasPrefix(line, "#EXT-X-VERSION:"):
			p.Version, _ = strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-VERSION:"))
		case strings.HasPrefix(line, "#EXT-X-TARGETDURATION:"):
			v, err := strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-TARGETDURATION:"))
			if err != nil {
				return p, fmt.Errorf("playlist line %d: %q: %w", n, line, err)
			}
			p.TargetDuration = v
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			p.Map = attr(strings.TrimPrefix(line, "#EXT-X-MAP:"), "URI")
		case strings.HasPrefix(line, "#EXTINF:"):
			d, _, _ := strings.Cut(strings.TrimPrefix(line, "#EXTINF:"), ",")
			v, err := strconv.ParseFloat(d, 64)
			if err != nil || v < 0 {
				return p, fmt.Errorf("playlist line %d: %q: bad duration", n, line)
			}
			pending = v
		case line == "#EXT-X-ENDLIST":
			p.EndList = true
		case strings.HasPrefix(line, "#"):
		default:
			if pending < 0 {
				return p, fmt.Errorf("playlist line %d: segment %q has no #EXTINF", n, line)
			}
			p.Segments = append(p.Segments, PlaylistSegment{URI: line, Duration: pending})
			pending = -1
		}
	}
	if n == 0 {
		return p, fmt.Errorf("playlist is empty")
	}
	return p, sc.Err()
}

// attr reads one attribute of an HLS attribute list (KEY=VALUE,KEY="V,2").
func attr(list, key string) string {
	for list != "" {
		k, rest, ok := strings.Cut(list, "=")
		if !ok {
			return ""
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				return ""
			}
			v, rest = rest[1:end+1], rest[end+2:]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
		}
		rest = strings.TrimPrefix(rest, ",")
		if strings.TrimSpace(k) == key {
			return v
		}
		list = rest
	}
	return ""
}

// VODPlaylist rewrites a media playlist that ffmpeg's DASH muxer wrote
// (with hls_playlist) as a video-on-demand playlist: its wall-clock
// #EXT-X-PROGRAM-DATE-TIME tags (the packaging's own clock, meaningless to
// a viewer) go, and #EXT-X-PLAYLIST-TYPE:VOD says no segment will change.
func VODPlaylist(text string) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:") || strings.HasPrefix(line, "#EXT-X-PLAYLIST-TYPE:") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
		if i == 0 {
			b.WriteString("#EXT-X-PLAYLIST-TYPE:VOD\n")
		}
	}
	return b.String()
}

// Variant is one video rendition in a master playlist.
type Variant struct {
	URI              string
	Bandwidth        int64 // peak bits per second, video and audio
	AverageBandwidth int64
	Width, Height    int
	FrameRate        float64
	Codecs           string // e.g. "avc1.64001f,mp4a.40.2"
}

// Rendition is an alternative audio or subtitle track.
type Rendition struct {
	URI      string
	Name     string
	Language string
	Default  bool
}

// MasterPlaylist is an HLS multivariant playlist: the video variants, each
// played with one of the audio renditions and optionally subtitles.
type MasterPlaylist struct {
	Variants  []Variant
	Audio     []Rendition
	Subtitles []Rendition
}

// String renders the playlist.
func (m MasterPlaylist) String() string {
	var b strings.Builder
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	rendition := func(typ, group string, r Rendition) {
		fmt.Fprintf(&b, "#EXT-X-MEDIA:TYPE=%s,GROUP-ID=%q,NAME=%q", typ, group, quoteSafe(r.Name))
		if r.Language != "" {
			fmt.Fprintf(&b, ",LANGUAGE=%q", quoteSafe(r.Language))
		}
		def := "NO"
		if r.Default {
			def = "YES"
		}
		fmt.Fprintf(&b, ",DEFAULT=%s,AUTOSELECT=YES,URI=%q\n", def, quoteSafe(r.URI))
	}
	for _, r := range m.Audio {
		rendition("AUDIO", "audio", r)
	}
	for _, r := range m.Subtitles {
		rendition("SUBTITLES", "subs", r)
	}
	for _, v := range m.Variants {
		fmt.Fprintf(&b, "#EXT-X-STREAM-INF:BANDWIDTH=%d", v.Bandwidth)
		if v.AverageBandwidth > 0 {
			fmt.Fprintf(&b, ",AVERAGE-BANDWIDTH=%d", v.AverageBandwidth)
		}
		fmt.Fprintf(&b, ",CODECS=%q,RESOLUTION=%dx%d", quoteSafe(v.Codecs), v.Width, v.Height)
		if v.FrameRate > 0 {
			fmt.Fprintf(&b, ",FRAME-RATE=%.3f", v.FrameRate)
		}
		if len(m.Audio) > 0 {
			b.WriteString(`,AUDIO="audio"`)
		}
		if len(m.Subtitles) > 0 {
			b.WriteString(`,SUBTITLES="subs"`)
		}
		b.WriteString("\n" + v.URI + "\n")
	}
	return b.String()
}

// quoteSafe drops what an HLS quoted string cannot hold (quotes, line
// breaks); %q then adds only the enclosing quotes.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\n' || r == '\r' || r == '\\' || r < 0x20 {
			return -1
		}
		return r
	}, s)
}

// StrictMPD drops a claim ffmpeg's DASH muxer makes for every adaptation
// set, bitstreamSwitching="true": a ladder's rungs carry their own
// parameter sets in their init segments, so a player must initialise its
// decoder again when it switches rungs, not feed it one rung's segments
// after another's.
func StrictMPD(mpd string) string {
	return strings.ReplaceAll(mpd, ` bitstreamSwitching="true"`, "")
}

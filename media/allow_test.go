package media

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/optcorpus"
)

// pathish is how an option that names a file, URL or program spells itself.
var pathish = regexp.MustCompile(`(?i)(^|[^o])file|path|url|stats|dump|attach|script|progress|report|dir$`)

// TestAllowedOptionsAreFFmpegOptions proves the allowlist against ffmpeg's
// own table: every allowed option exists, takes exactly the one value dswarm
// pairs with it (the value-less flags take none), and no class of ffmpeg
// types it as text under a file-like name.
func TestAllowedOptionsAreFFmpegOptions(t *testing.T) {
	tab := FFmpegOptions()
	for name := range allowed {
		arity, known := tab.Arity(name)
		assert.True(t, known, "-%s is not an ffmpeg option", name)
		assert.Equal(t, 1, arity, "-%s: ffmpeg's arity", name)
		assert.False(t, pathish.MatchString(name) && name != "x264-params" && name != "x265-params", "-%s looks like a path option", name)
		for _, o := range tab.AV[name] {
			if o.Type == "string" || o.Type == "binary" || o.Type == "dictionary" {
				assert.Contains(t, textOptionsRead, name, "-%s is text in %s: read it and list it", name, o.Class)
			}
		}
	}
	for name := range handled {
		arity, known := tab.Arity(name)
		assert.True(t, known && arity == 1, "-%s", name)
	}
	for name := range flags {
		arity, known := tab.Arity(name)
		assert.True(t, known, "-%s", name)
		assert.Equal(t, 0, arity, "-%s", name)
	}
}

// textOptionsRead are the allowed options that some ffmpeg class types as
// text, each read: none of them names a file. The parameter lists are
// checked key by key (params.go).
var textOptionsRead = set(
	"preset", "tune", "profile", "level", // libx264/libx265 names
	"psy-rd", // "1.0:0.15" for libx264
	"x264opts", "x264-params", "x265-params", "svtav1-params", "aom-params",
	"brand", // the mp4 major brand
	"fec",   // libopus: a boolean; rtp's text option of the same name is a protocol's
	"timecode", "top", "s", "tiles", "frame_size", "speed", "deadline", "quality", "live",
	"video_format", "sample_fmt", "usage", "application",
)

func TestOptionCorpus(t *testing.T) {
	classes := map[string][2]int{}
	for _, tc := range append(append([]optcorpus.Case{}, optcorpus.Hostile...), optcorpus.Ordinary...) {
		t.Run(tc.Class+" "+strings.Join(tc.Args, " "), func(t *testing.T) {
			o, err := ParseOptions(tc.Args)
			c := classes[tc.Class]
			if tc.OK {
				c[1]++
				require.NoError(t, err)
				assertSafe(t, o)
			} else {
				c[0]++
				var oe *OptionError
				require.True(t, errors.As(err, &oe), "want a refusal, got %v", err)
				assert.Contains(t, oe.Reason, tc.Why)
				assert.NotContains(t, err.Error(), "\n", "one line")
			}
			classes[tc.Class] = c
		})
	}
	t.Logf("corpus (hostile, ordinary) by class: %v", classes)
}

// assertSafe is the invariant of every accepted option list: each routed
// argument list, read by ffmpeg's own arity table, consumes every word as an
// option or its value (no word becomes an extra output or input), names no
// option dswarm refuses, and every filter in it is an allowed filter.
func assertSafe(t testing.TB, o Options) {
	tab := FFmpegOptions()
	for _, list := range [][]string{o.Video, o.Audio, o.Global} {
		for i := 0; i < len(list); i++ {
			tok := list[i]
			if !strings.HasPrefix(tok, "-") || len(tok) < 2 {
				t.Fatalf("%q would be a file to ffmpeg in %q", tok, list)
			}
			name, _, _ := strings.Cut(tok[1:], ":")
			arity, known := tab.Arity(name)
			if !known {
				t.Fatalf("-%s is not an ffmpeg option", name)
			}
			if _, ok := refused[name]; ok {
				t.Fatalf("-%s is refused but was accepted", name)
			}
			if i+arity >= len(list) {
				t.Fatalf("-%s lacks its value in %q", name, list)
			}
			if name == "af" || name == "filter" {
				assertChain(t, list[i+1], allowedAudioFilters)
			}
			i += arity
		}
	}
	if o.VideoFilter != "" {
		assertChain(t, o.VideoFilter, allowedVideoFilters)
	}
}

func assertChain(t testing.TB, s string, allowedNames map[string]bool) {
	chain, err := ParseFilterChain(s)
	if err != nil {
		t.Fatalf("accepted chain %q does not parse: %v", s, err)
	}
	for _, f := range chain {
		if !allowedNames[f.Name] {
			t.Fatalf("accepted chain %q runs filter %q", s, f.Name)
		}
	}
}

// FuzzParseOptions: whatever the words, an accepted option list keeps the
// invariant of assertSafe.
func FuzzParseOptions(f *testing.F) {
	for _, tc := range append(append([]optcorpus.Case{}, optcorpus.Hostile...), optcorpus.Ordinary...) {
		f.Add(strings.Join(tc.Args, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		o, err := ParseOptions(args)
		if err != nil {
			return
		}
		assertSafe(t, o)
	})
}

// FuzzFilterChain: a chain dswarm accepts parses back, after formatting,
// into the same filters (what was checked is what runs).
func FuzzFilterChain(f *testing.F) {
	for _, s := range []string{`scale=w='min(iw,640)':h=-2`, `drawbox=c='re\'d,metadata=file=x`, `a\,b`, "x@y=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		chain, err := ParseFilterChain(s)
		if err != nil {
			return
		}
		again, err := ParseFilterChain(FormatFilterChain(chain))
		if err != nil {
			t.Fatalf("%q formatted as %q does not parse: %v", s, FormatFilterChain(chain), err)
		}
		if len(again) != len(chain) {
			t.Fatalf("%q: %d filters, formatted %d", s, len(chain), len(again))
		}
		for i := range chain {
			if chain[i] != again[i] {
				t.Fatalf("%q: filter %d %+v, formatted %+v", s, i, chain[i], again[i])
			}
		}
	})
}

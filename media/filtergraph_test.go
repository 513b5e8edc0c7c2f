package media

import (
	"context"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The checked-in filter table is the installed ffmpeg's, for every allowed
// filter (go test ./media -run TestFilterTable -update rewrites it).
func TestFilterTableMatchesFFmpeg(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	got, _, err := GenerateFilterTable(ctx)
	require.NoError(t, err)
	header := "# The options of the filters dswarm allows, from `ffmpeg -h filter=NAME`,\n" +
		"# by `go test ./media -run TestFilterTable -update`; do not edit.\n"
	if *update {
		require.NoError(t, os.WriteFile("ffmpeg_filters.txt", []byte(FormatFilterTable(got, header)), 0o644))
	}
	assert.Equal(t, FormatFilterTable(AllowedFilters(), ""), FormatFilterTable(got, ""))
}

// fileish are the words by which an option names a file, a model, a URL or
// another input, in its name or its help text.
var fileish = regexp.MustCompile(`(?i)file|path|url|model|load|save|dump|stats|directory|dir\b|font|script|stream|input|source|import|export|device`)

// reviewedStrings are the string options of allowed filters, read one by
// one: expressions, sizes, colours, format and channel lists. A string
// option not listed here fails the test until someone reads it.
var reviewedStrings = map[string]string{
	"scale":    "w width h height flags in_color_matrix out_color_matrix",
	"crop":     "out_w w out_h h x y",
	"pad":      "width w height h x y",
	"format":   "pix_fmts",
	"setsar":   "sar ratio r",
	"setdar":   "dar ratio r",
	"rotate":   "angle a out_w ow out_h oh fillcolor c",
	"eq":       "contrast brightness saturation gamma gamma_r gamma_g gamma_b gamma_weight",
	"hue":      "h s b H",
	"zscale":   "w width h height size s",
	"drawbox":  "x y width w height h color c thickness t box_source",
	"drawgrid": "x y width w height h color c thickness t",
	"boxblur":  "luma_radius lr chroma_radius cr alpha_radius ar",
	"lutyuv":   "c0 c1 c2 c3 y u v r g b a",
	"lutrgb":   "c0 c1 c2 c3 y u v r g b a",
	"volume":   "volume",
	"pan":      "args",
	"aformat":  "sample_fmts f sample_rates r channel_layouts cl",
	"highpass": "channels c", "lowpass": "channels c", "equalizer": "channels c",
	"bass": "channels c", "treble": "channels c", "dynaudnorm": "channels h",
}

// namesRead are option names that look like naming a file but, read, do not.
var namesRead = set("transpose dir", // a direction, 0 to 7
	"drawbox box_source") // a kind of frame side data: side_data_detection_bboxes

// TestAllowedFiltersTakeNoFiles walks `ffmpeg -filters` and every allowed
// filter's options on the installed ffmpeg: each allowed filter exists, has
// exactly one input and one output of its kind, and no option that takes a
// file, a model, a URL or a second input.
func TestAllowedFiltersTakeNoFiles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := runTool(ctx, "ffmpeg", "-hide_banner", "-filters")
	require.NoError(t, err)
	listed := map[string]string{} // name -> "V->V"
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.Contains(f[2], "->") {
			listed[f[1]] = f[2]
		}
	}
	require.Greater(t, len(listed), 100, "ffmpeg -filters lists filters")
	_, helps, err := GenerateFilterTable(ctx)
	require.NoError(t, err)
	for media, list := range map[string]map[string]bool{"video": allowedVideoFilters, "audio": allowedAudioFilters} {
		letter := strings.ToUpper(media[:1])
		for name := range list {
			assert.Equal(t, letter+"->"+letter, listed[name], "%s: one %s input and output in ffmpeg -filters", name, media)
			h := helps[name]
			assert.Equal(t, []string{media}, h.Inputs, "%s inputs", name)
			assert.Equal(t, []string{media}, h.Outputs, "%s outputs", name)
			reviewed := strings.Fields(reviewedStrings[name])
			for _, o := range h.Options {
				// Numbers, enums, flags, colours, sizes and durations are
				// parsed as such; only a text option could hold a name.
				assert.False(t, fileish.MatchString(o.Name) && !namesRead[name+" "+o.Name], "%s option %s (%s) may name a file: %s", name, o.Name, o.Type, o.Help)
				switch o.Type {
				case "binary", "dictionary":
					t.Errorf("%s option %s is of type %s", name, o.Name, o.Type)
				case "string":
					assert.Contains(t, reviewed, o.Name, "%s: string option %s not reviewed (%s)", name, o.Name, o.Help)
					assert.False(t, fileish.MatchString(o.Help) && !strings.Contains(o.Help, "input") && !namesRead[name+" "+o.Name],
						"%s option %s may name a file: %s", name, o.Name, o.Help)
				}
			}
		}
	}
}

func TestAvToken(t *testing.T) {
	for _, tc := range []struct{ in, term, tok, rest string }{
		{"scale=640", "=,;[", "scale", "=640"},
		{"  'scale'=1", "=,;[", "scale", "=1"},
		{`meta\data=x`, "=,;[", "metadata", "=x"},
		{`c='re\'d,x`, "[],;", `c=re\d`, ",x"},
		{`a\,b,c`, ",", "a,b", ",c"},
		{"a  ,", ",", "a", ","},
		{`a\ ,`, ",", "a ", ","},
		{"'a ' ,", ",", "a ", ","},
		{"'unterminated,x", ",", "unterminated,x", ""},
		{`trailing\`, ",", `trailing\`, ""},
	} {
		tok, rest := avToken(tc.in, tc.term)
		assert.Equal(t, tc.tok, tok, "%q", tc.in)
		assert.Equal(t, tc.rest, rest, "%q", tc.in)
	}
}

func TestParseFilterChain(t *testing.T) {
	chain, err := ParseFilterChain(`scale=w='min(iw,640)':h=-2, hflip ,drawbox@box=c='re\'d:t=2`)
	require.NoError(t, err)
	assert.Equal(t, []Filter{
		{Name: "scale", Args: "w=min(iw,640):h=-2"},
		{Name: "hflip"},
		{Name: "drawbox", Instance: "box", Args: `c=re\d:t=2`},
	}, chain)
	for _, bad := range []string{"[in]scale=1:1", "scale[out]", "split;hflip", "sws_flags=bicubic;scale=1:1",
		"'sc ale'=1", "", "scale,,hflip"} {
		_, err := ParseFilterChain(bad)
		assert.Error(t, err, bad)
	}
}

func TestFilterArgs(t *testing.T) {
	assert.Equal(t, []FilterArg{{"", "640"}, {"", "-2"}}, FilterArgs("640:-2"))
	assert.Equal(t, []FilterArg{{"w", "min(iw,640)"}, {"h", "-2"}}, FilterArgs("w=min(iw\\,640):h=-2"))
	assert.Equal(t, []FilterArg{{"", "x=1"}}, FilterArgs(`'x=1'`), "a quoted = is a value, not a key")
	assert.Equal(t, []FilterArg{{"text", "a:b"}}, FilterArgs(`text='a:b'`))
	assert.Nil(t, FilterArgs(""))
}

// The canonical chain parses back into the same filters, whatever the
// input's quoting: what dswarm checked is what ffmpeg runs.
func TestFormatFilterChainRoundTrip(t *testing.T) {
	for _, s := range []string{`scale=w='min(iw,640)':h=-2`, `drawbox=c='re\'d:t=2,hflip`,
		`eq=contrast=1.1 , hue=s=0`, `pad=w=iw+2:h=ih+2:x=1:y=1:color='0x00ff00'`, `scale=640:-2`} {
		chain, err := ParseFilterChain(s)
		require.NoError(t, err, s)
		again, err := ParseFilterChain(FormatFilterChain(chain))
		require.NoError(t, err, s)
		assert.Equal(t, chain, again, s)
	}
}

func TestAllowedFilterNamesSorted(t *testing.T) {
	names := sortedKeys(allowedVideoFilters)
	assert.True(t, sort.StringsAreSorted(names))
	for n := range allowedVideoFilters {
		assert.NotContains(t, refusedFilters, n, "%s is both allowed and refused", n)
	}
}

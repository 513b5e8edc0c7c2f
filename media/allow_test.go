package media

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// corpusCase is one option list and what dswarm must do with it.
type corpusCase struct {
	class string
	args  []string
	ok    bool   // accepted
	why   string // part of the refusal's reason
}

// hostile is the corpus of option lists an attacker would try, by class,
// with every example of issue 9.
var hostile = []corpusCase{
	// Arity tricks: a value-less option followed by a word ffmpeg would
	// take as one more output file.
	{"arity", []string{"-xerror", "/tmp/x"}, false, "not supported by dswarm"},
	{"arity", []string{"-xerror:s", "/tmp/x"}, false, "not supported by dswarm"},
	{"arity", []string{"-bitexact", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-stdin", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-dump", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-hex", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-psnr", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-qphist", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-copyinkf", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-force_fps", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-autoscale", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-noautoscale", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-recast_media", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-noxerror", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-nobitexact", "/tmp/x"}, false, "not supported"},
	{"arity", []string{"-y", "/tmp/x"}, false, "not an option"},
	{"arity", []string{"-an:v", "/tmp/x"}, false, "takes no stream type"},
	{"arity", []string{"-crf", "23", "/tmp/x"}, false, "not an option"},
	{"arity", []string{"-stats", "/tmp/x"}, false, "not an option"},
	{"arity", []string{"-nostats", "/tmp/x.mp4"}, false, "not an option"},
	{"arity", []string{"-unknown_thing", "1"}, false, "not an ffmpeg option"},
	{"arity", []string{"-/vf", "/tmp/graph.txt"}, false, "not an ffmpeg option"},
	// Options whose value is a path.
	{"path", []string{"-passlogfile", "/tmp/x"}, false, "writes another file"},
	{"path", []string{"-vstats_file", "/tmp/x"}, false, "writes another file"},
	{"path", []string{"-attach", "/etc/passwd"}, false, "reads another file"},
	{"path", []string{"-dump_attachment:t", "/tmp/x"}, false, "writes another file"},
	{"path", []string{"-filter_script:v", "/tmp/x"}, false, "reads another file"},
	{"path", []string{"-sdp_file", "/tmp/x"}, false, "writes another file"},
	{"path", []string{"-progress", "/tmp/x"}, false, "reports progress itself"},
	{"path", []string{"-i", "/etc/passwd"}, false, "inputs are given once"},
	{"path", []string{"-stats_file", "/tmp/x"}, false, "not an ffmpeg option"},
	{"path", []string{"-segment_list", "/tmp/x"}, false, "not supported by dswarm"},
	{"path", []string{"-hls_segment_filename", "/tmp/x"}, false, "not supported by dswarm"},
	{"path", []string{"-metadata", "title=x", "/tmp/x"}, false, "not an option"},
	// Preset files.
	{"preset", []string{"-fpre", "/run/secrets/dswarm_token"}, false, "reads a preset file"},
	{"preset", []string{"-vpre", "slow"}, false, "reads a preset file"},
	{"preset", []string{"-apre", "x"}, false, "reads a preset file"},
	{"preset", []string{"-spre", "x"}, false, "reads a preset file"},
	{"preset", []string{"-pre", "x"}, false, "reads a preset file"},
	{"preset", []string{"-fpre:v", "x"}, false, "reads a preset file"},
	// Filters with file, model or URL options, or another input.
	{"filter", []string{"-vf", "'metadata'=mode=print:file=/tmp/x"}, false, `filter "metadata"`},
	{"filter", []string{"-vf", `meta\data=mode=print:file=/tmp/x`}, false, `filter "metadata"`},
	{"filter", []string{"-vf", `drawbox=c='re\'d,metadata=mode=print:file=/tmp/x`}, false, `filter "metadata"`},
	{"filter", []string{"-vf", `drawbox=c='re\'d\,metadata=mode=print:file=/tmp/x`}, false, ""},
	{"filter", []string{"-vf", "vmafmotion=stats_file=/tmp/x"}, false, `filter "vmafmotion"`},
	{"filter", []string{"-vf", "scale=64:-2,movie=/etc/passwd"}, false, `filter "movie"`},
	{"filter", []string{"-af", "amovie=/etc/passwd"}, false, `filter "amovie"`},
	{"filter", []string{"-vf", "subtitles=/etc/passwd"}, false, `filter "subtitles"`},
	{"filter", []string{"-vf", "lut3d=/tmp/x.cube"}, false, `filter "lut3d"`},
	{"filter", []string{"-vf", "curves=psfile=/tmp/x"}, false, `filter "curves"`},
	{"filter", []string{"-vf", "drawtext=textfile=/etc/passwd"}, false, `filter "drawtext"`},
	{"filter", []string{"-vf", "sr=dnn_backend=tensorflow:model=/tmp/m.pb"}, false, `filter "sr"`},
	{"filter", []string{"-af", "arnndn=m=/tmp/x.rnnn"}, false, `filter "arnndn"`},
	{"filter", []string{"-vf", "zmq=bind_address=tcp\\://0.0.0.0\\:5555"}, false, `filter "zmq"`},
	{"filter", []string{"-vf", "sendcmd=f=/tmp/cmds"}, false, `filter "sendcmd"`},
	{"filter", []string{"-af", "ladspa=file=/tmp/x.so"}, false, `filter "ladspa"`},
	{"filter", []string{"-vf", "frei0r=filter_name=/tmp/evil"}, false, `filter "frei0r"`},
	{"filter", []string{"-vf", "[in]scale=1:1[a];movie=x[b];[a][b]overlay"}, false, "link labels"},
	{"filter", []string{"-vf", "scale=1:1;movie=x"}, false, "';'"},
	{"filter", []string{"-vf", "sws_flags=bicubic;scale=1:1"}, false, "sws_flags"},
	{"filter", []string{"-vf", "scale=64:-2:file=/tmp/x"}, false, `no option "file"`},
	{"filter", []string{"-vf", "scale@'x'=64:-2"}, true, ""}, // unquoted to scale@x, which runs
	{"filter", []string{"-vf", "scale=64:-2,\\\nmetadata=print"}, false, "is not a filter name"},
	{"filter", []string{"-vf", "scale=64:-2,'metadata'"}, false, `filter "metadata"`},
	{"filter", []string{"-af", "volume=1,ametadata=mode=print:file=/tmp/x"}, false, `filter "ametadata"`},
	{"filter", []string{"-filter:v", "metadata=mode=print:file=/tmp/x"}, false, `filter "metadata"`},
	{"filter", []string{"-filter", "metadata=file=/tmp/x"}, false, "give it a stream type"},
	// Encoder parameter spellings.
	{"params", []string{"-x265-params", "--csv=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "csv=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "analysis_save=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "Analysis-Save=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "dump_yuv=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "'dump-yuv'=/tmp/x"}, false, "quotes and backslashes"},
	{"params", []string{"-x264-params", `dump\-yuv=/tmp/x`}, false, "quotes and backslashes"},
	{"params", []string{"-x264-params", "keyint=48:stats=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x264opts", "qpfile=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-aom-params", "film-grain-table=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-svtav1-params", "fgs-table=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "pass=2:stats=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "dhdr10-info=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "zonefile=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "opencl-clbin=/tmp/x"}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "no-such-key=1"}, false, "not on dswarm's list"},
	{"params", []string{"-x264-params", "keyint=48\n:stats=x"}, false, ""},
	{"params", []string{"-x264-params", ""}, false, "empty"},
	// Multi-file muxers.
	{"muxer", []string{"-f", "image2"}, false, "writes more files"},
	{"muxer", []string{"-f", "hls"}, false, "writes more files"},
	{"muxer", []string{"-f", "dash"}, false, "writes more files"},
	{"muxer", []string{"-f", "segment", "-segment_list", "/tmp/x"}, false, "writes more files"},
	{"muxer", []string{"-f", "tee"}, false, "writes more files"},
	{"muxer", []string{"-f", "ssegment"}, false, "writes more files"},
	{"muxer", []string{"-f", "rtp"}, false, "not a single-file container"},
	{"muxer", []string{"-f", "/tmp/x"}, false, "not a single-file container"},
	// Values with paths or control characters where dswarm knows the form.
	{"value", []string{"-c:v", "/tmp/x"}, false, "is not a plain value"},
	{"value", []string{"-preset", "../../x"}, false, "is not a plain value"},
	{"value", []string{"-metadata", "title=a\nb"}, false, "control character"},
	{"value", []string{"-map_metadata", "1"}, false, "only 0"},
	{"value", []string{"-b:0", "1M"}, false, "unknown stream specifier"},
	{"value", []string{"-r", "../x"}, false, "is not a rate"},
}

// ordinary is the corpus of everyday option lists that must keep working.
var ordinary = []corpusCase{
	{"ordinary", []string{"-c:v", "libx264", "-crf", "23", "-preset", "veryfast"}, true, ""},
	{"ordinary", []string{"-c:v", "mpeg4", "-b:v", "1M"}, true, ""},
	{"ordinary", []string{"-c:v", "libx265", "-x265-params", "keyint=48:min-keyint=48:no-open-gop=1:log-level=error"}, true, ""},
	{"ordinary", []string{"-c:v", "libx264", "-x264-params", "keyint=48:min-keyint=48:scenecut=0:no-mbtree=1"}, true, ""},
	{"ordinary", []string{"-x264opts", "keyint=48:bframes=3"}, true, ""},
	{"ordinary", []string{"-c:v", "libx265", "-x265-params", "hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400"}, true, ""},
	{"ordinary", []string{"-c:v", "libsvtav1", "-svtav1-params", "tune=0:film-grain=8", "-preset", "8"}, true, ""},
	{"ordinary", []string{"-c:v", "libaom-av1", "-aom-params", "enable-cdef=1:tune=psnr", "-cpu-used", "8"}, true, ""},
	{"ordinary", []string{"-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "31", "-row-mt", "1", "-deadline", "good"}, true, ""},
	{"ordinary", []string{"-vf", "scale=1280:-2,crop=iw-16:ih-16,pad=iw+16:ih+16:8:8:black"}, true, ""},
	{"ordinary", []string{"-vf", "scale=w='min(iw,640)':h=-2:flags=lanczos,format=yuv420p"}, true, ""},
	{"ordinary", []string{"-vf", "transpose=1,hflip,setsar=1,unsharp=5:5:1.0"}, true, ""},
	{"ordinary", []string{"-vf", "drawbox=x=10:y=10:w=100:h=50:color=red@0.5:t=fill"}, true, ""},
	{"ordinary", []string{"-vf", "eq=contrast=1.1:brightness=0.02,hue=s=0.8"}, true, ""},
	{"ordinary", []string{"-af", "volume=0.5,aresample=48000"}, true, ""},
	{"ordinary", []string{"-af", "loudnorm=I=-16:TP=-1.5:LRA=11"}, true, ""},
	{"ordinary", []string{"-af", "pan=stereo|c0=FL|c1=FR", "-ac", "2"}, true, ""},
	{"ordinary", []string{"-af", "afade=t=in:d=1,volume=enable='between(t,1,2)':volume=0.5"}, true, ""},
	{"ordinary", []string{"-metadata", "title=My Film: Part 2", "-metadata:s:a:0", "language=eng"}, true, ""},
	{"ordinary", []string{"-movflags", "+faststart", "-c:a", "aac", "-b:a", "128k", "-ar", "48000"}, true, ""},
	{"ordinary", []string{"-pix_fmt", "yuv420p10le", "-profile:v", "main10", "-color_primaries", "bt2020"}, true, ""},
	{"ordinary", []string{"-g", "48", "-keyint_min", "48", "-sc_threshold", "0", "-bf", "3"}, true, ""},
	{"ordinary", []string{"-maxrate", "3M", "-bufsize", "6M", "-b:v", "2M"}, true, ""},
	{"ordinary", []string{"-disposition:a:0", "default", "-f", "matroska", "-map_metadata", "-1"}, true, ""},
	{"ordinary", []string{"-aspect", "16:9", "-r", "30000/1001", "-s", "1280x720"}, true, ""},
	{"ordinary", []string{"-c:a", "libopus", "-b:a", "96k", "-vbr", "on", "-application", "audio"}, true, ""},
	{"ordinary", []string{"-force_key_frames", "expr:gte(t,n_forced*2)", "-tag:v", "hvc1"}, true, ""},
	{"ordinary", []string{"-y", "-hide_banner", "-nostats", "-an", "-sn", "-strict", "-2"}, true, ""},
	{"ordinary", []string{"-ss", "10", "-t", "30", "-c:v", "ffv1", "-level", "3", "-slices", "4"}, true, ""},
	{"ordinary", []string{"-c:v", "libx264", "-tune", "film", "-threads", "2", "-ch_layout", "5.1(side)"}, true, ""},
}

func TestOptionCorpus(t *testing.T) {
	classes := map[string][2]int{}
	for _, tc := range append(append([]corpusCase{}, hostile...), ordinary...) {
		t.Run(tc.class+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			o, err := ParseOptions(tc.args)
			c := classes[tc.class]
			if tc.ok {
				c[1]++
				require.NoError(t, err)
				assertSafe(t, o)
			} else {
				c[0]++
				var oe *OptionError
				require.True(t, errors.As(err, &oe), "want a refusal, got %v", err)
				assert.Contains(t, oe.Reason, tc.why)
				assert.NotContains(t, err.Error(), "\n", "one line")
			}
			classes[tc.class] = c
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
	for _, tc := range append(append([]corpusCase{}, hostile...), ordinary...) {
		f.Add(strings.Join(tc.args, "\x00"))
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

package media

import (
	"context"
	_ "embed"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Filters are parsed by the rules of libavfilter's graph parser and
// libavutil's av_get_token, and then written out again in a canonical form
// that dswarm builds itself: what ffmpeg runs is exactly the chain dswarm
// checked, whatever quoting and escaping the user's text used.

// whitespace is av_get_token's WHITESPACES.
const whitespace = " \n\t\r"

// avToken reads one token from s as libavutil's av_get_token does: leading
// whitespace is skipped; a backslash takes the next byte literally; single
// quotes take everything up to the next quote literally (no escapes inside);
// unescaped, unquoted trailing whitespace is dropped; it stops before any
// byte of term. It returns the token and the rest of s.
func avToken(s, term string) (string, string) {
	s = strings.TrimLeft(s, whitespace)
	var out []byte
	end := 0 // out[:end] is protected from the trailing-whitespace trim
	i := 0
	for i < len(s) && strings.IndexByte(term, s[i]) < 0 {
		c := s[i]
		i++
		switch {
		case c == '\\' && i < len(s):
			out = append(out, s[i])
			i++
			end = len(out)
		case c == '\'':
			for i < len(s) && s[i] != '\'' {
				out = append(out, s[i])
				i++
			}
			if i < len(s) {
				i++
				end = len(out)
			}
		default:
			out = append(out, c)
		}
	}
	for len(out) > end && strings.IndexByte(whitespace, out[len(out)-1]) >= 0 {
		out = out[:len(out)-1]
	}
	return string(out), s[i:]
}

// escapeToken is avToken's inverse for the terminators in term: avToken(
// escapeToken(v, term), term) is v, and nothing of it is taken as a
// terminator, a quote or whitespace to trim.
func escapeToken(v, term string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' || c == '\'' || strings.IndexByte(term, c) >= 0 || strings.IndexByte(whitespace, c) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// Filter is one filter of a chain, as libavfilter sees it.
type Filter struct {
	Name     string
	Instance string // after '@', "" for none
	Args     string // the argument string the filter parses, unescaped once
}

// FilterArg is one key=value (or positional value) of a filter's arguments.
type FilterArg struct {
	Key   string // "" for a positional value
	Value string
}

// ParseFilterChain parses a -vf/-af value as avfilter_graph_parse2 does and
// accepts only a plain chain: filters separated by commas, with no link
// labels, no ';' and no sws_flags= prefix (those build graphs, not chains).
func ParseFilterChain(s string) ([]Filter, error) {
	rest := strings.TrimLeft(s, whitespace)
	if strings.HasPrefix(rest, "sws_flags=") {
		return nil, fmt.Errorf("a sws_flags= prefix is not supported; give -sws_flags")
	}
	var chain []Filter
	for {
		rest = strings.TrimLeft(rest, whitespace)
		if strings.HasPrefix(rest, "[") {
			return nil, fmt.Errorf("link labels ([...]) are not supported: give a plain chain a,b,c")
		}
		var name string
		name, rest = avToken(rest, "=,;[")
		f := Filter{Name: name}
		if n, inst, ok := strings.Cut(name, "@"); ok {
			f.Name, f.Instance = n, inst
		}
		if strings.HasPrefix(rest, "=") {
			f.Args, rest = avToken(rest[1:], "[],;")
		}
		if !filterName.MatchString(f.Name) {
			return nil, fmt.Errorf("%q is not a filter name", name)
		}
		if f.Instance != "" && !filterName.MatchString(f.Instance) {
			return nil, fmt.Errorf("filter instance name %q: use letters, digits and _", f.Instance)
		}
		chain = append(chain, f)
		rest = strings.TrimLeft(rest, whitespace)
		if rest == "" {
			return chain, nil
		}
		switch rest[0] {
		case ',':
			rest = rest[1:]
		case '[':
			return nil, fmt.Errorf("link labels ([...]) are not supported: give a plain chain a,b,c")
		case ';':
			return nil, fmt.Errorf("';' builds a filter graph; give a plain chain a,b,c")
		default:
			return nil, fmt.Errorf("cannot parse the filter chain at %q", rest)
		}
	}
}

var filterName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// FormatFilterChain writes a chain so that libavfilter parses it back into
// exactly these filters and arguments.
func FormatFilterChain(chain []Filter) string {
	parts := make([]string, len(chain))
	for i, f := range chain {
		p := f.Name
		if f.Instance != "" {
			p += "@" + f.Instance
		}
		if f.Args != "" {
			p += "=" + escapeToken(f.Args, "[],;")
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// FilterArgs splits a filter's argument string as libavfilter's
// process_options does (av_opt_get_key_value with "=" and ":"): a leading
// run of key characters followed by '=' is a key; otherwise the value is
// positional.
func FilterArgs(args string) []FilterArg {
	var out []FilterArg
	for args != "" {
		var a FilterArg
		s := strings.TrimLeft(args, whitespace)
		k := 0
		for k < len(s) && isKeyChar(s[k]) {
			k++
		}
		after := strings.TrimLeft(s[k:], whitespace)
		if k > 0 && strings.HasPrefix(after, "=") {
			a.Key = s[:k]
			s = after[1:]
		}
		a.Value, s = avToken(s, ":")
		out = append(out, a)
		args = strings.TrimPrefix(s, ":")
		if s == "" {
			break
		}
	}
	return out
}

// isKeyChar is libavutil's is_key_char.
func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '/' || c == '.'
}

// The filters a segment or the audio task may run: each has one input and
// one output, and no option that names a file, a model, a URL or another
// input (TestAllowedFiltersTakeNoFiles proves it on the installed ffmpeg).
// Video filters also must not depend on time or neighbouring frames, which
// a segment cut would break; the audio is encoded once from the whole
// input, so time-dependent audio filters are exact.
var (
	allowedVideoFilters = set("scale", "crop", "pad", "format", "setsar", "setdar", "hflip",
		"vflip", "transpose", "rotate", "unsharp", "eq", "hue", "colorspace", "zscale", "tonemap",
		"drawbox", "drawgrid", "boxblur", "gblur", "avgblur", "smartblur", "negate", "lutyuv",
		"lutrgb", "colorbalance", "colorchannelmixer", "colorlevels", "colormatrix", "vibrance",
		"chromashift", "deband", "cas", "fillborders", "setparams", "setfield", "null")
	allowedAudioFilters = set("volume", "aresample", "loudnorm", "pan", "afade", "aformat",
		"highpass", "lowpass", "equalizer", "bass", "treble", "acompressor", "alimiter",
		"dynaudnorm", "anull")
)

// FilterInfo is what ffmpeg says of a filter: its media type (of its one
// input and output) and its options.
type FilterInfo struct {
	Media    string // "video" or "audio"
	Timeline bool   // takes the generic enable= option
	Options  map[string]string
}

//go:embed ffmpeg_filters.txt
var filterTableText string

var (
	filterOnce  sync.Once
	filterTable map[string]FilterInfo
)

// AllowedFilters is the checked-in table of the allowed filters' options.
func AllowedFilters() map[string]FilterInfo {
	filterOnce.Do(func() {
		t, err := ParseFilterTable(filterTableText)
		if err != nil {
			panic("media: the checked-in filter table is broken: " + err.Error())
		}
		filterTable = t
	})
	return filterTable
}

// ParseFilterTable reads the text form written by FormatFilterTable.
func ParseFilterTable(text string) (map[string]FilterInfo, error) {
	t := map[string]FilterInfo{}
	return t, eachRecord(text, func(f []string) error {
		switch {
		case f[0] == "filter" && len(f) == 4:
			t[f[1]] = FilterInfo{Media: f[2], Timeline: f[3] == "timeline", Options: map[string]string{}}
		case f[0] == "option" && len(f) == 4:
			info, ok := t[f[1]]
			if !ok {
				return fmt.Errorf("option of unlisted filter %s", f[1])
			}
			info.Options[f[2]] = f[3]
		default:
			return fmt.Errorf("%q", strings.Join(f, "\t"))
		}
		return nil
	})
}

// FormatFilterTable writes the table as sorted, tab-separated lines.
func FormatFilterTable(t map[string]FilterInfo, header string) string {
	var b strings.Builder
	b.WriteString(header)
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		info := t[n]
		tl := "-"
		if info.Timeline {
			tl = "timeline"
		}
		fmt.Fprintf(&b, "filter\t%s\t%s\t%s\n", n, info.Media, tl)
		opts := make([]string, 0, len(info.Options))
		for o := range info.Options {
			opts = append(opts, o)
		}
		sort.Strings(opts)
		for _, o := range opts {
			fmt.Fprintf(&b, "option\t%s\t%s\t%s\n", n, o, info.Options[o])
		}
	}
	return b.String()
}

// FilterHelp is `ffmpeg -h filter=NAME` read: inputs and outputs by media
// type ("dynamic" for a variable number), options with type and text.
type FilterHelp struct {
	Inputs, Outputs []string
	Timeline        bool
	Options         []FilterOption
}

// FilterOption is one option line of a filter's help.
type FilterOption struct {
	Name, Type, Help string
}

var (
	padLine    = regexp.MustCompile(`^\s+#\d+: \S+ \((\w+)\)`)
	optionLine = regexp.MustCompile(`^   (\S+)\s+<(\w+)>\s+\S+\s*(.*)$`)
)

// ParseFilterHelp reads `ffmpeg -h filter=NAME`.
func ParseFilterHelp(text string) FilterHelp {
	var h FilterHelp
	var pads *[]string
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "Inputs:":
			pads = &h.Inputs
		case trimmed == "Outputs:":
			pads = &h.Outputs
		case strings.HasPrefix(trimmed, "dynamic ("):
			if pads != nil {
				*pads = append(*pads, "dynamic")
			}
		case pads != nil && padLine.MatchString(line):
			*pads = append(*pads, padLine.FindStringSubmatch(line)[1])
		case strings.Contains(line, "support for timeline"):
			h.Timeline = true
		case optionLine.MatchString(line):
			pads = nil
			m := optionLine.FindStringSubmatch(line)
			h.Options = append(h.Options, FilterOption{Name: m[1], Type: m[2], Help: m[3]})
		}
	}
	return h
}

// GenerateFilterTable asks the installed ffmpeg about every allowed filter.
func GenerateFilterTable(ctx context.Context) (map[string]FilterInfo, map[string]FilterHelp, error) {
	t := map[string]FilterInfo{}
	helps := map[string]FilterHelp{}
	for _, list := range []map[string]bool{allowedVideoFilters, allowedAudioFilters} {
		for name := range list {
			out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-h", "filter="+name).CombinedOutput()
			if err != nil || strings.Contains(string(out), "Unknown filter") {
				return nil, nil, fmt.Errorf("ffmpeg -h filter=%s: %v %s", name, err, out)
			}
			h := ParseFilterHelp(string(out))
			info := FilterInfo{Timeline: h.Timeline, Options: map[string]string{}}
			if len(h.Inputs) > 0 {
				info.Media = h.Inputs[0]
			}
			for _, o := range h.Options {
				info.Options[o.Name] = o.Type
			}
			t[name], helps[name] = info, h
		}
	}
	return t, helps, nil
}

// checkFilterChain parses a -vf (media "video") or -af value, refuses
// anything but allowed filters with their own options, and returns the
// canonical chain for ffmpeg.
func checkFilterChain(value, media string) (string, error) {
	chain, err := ParseFilterChain(value)
	if err != nil {
		return "", err
	}
	allowed := allowedVideoFilters
	if media == "audio" {
		allowed = allowedAudioFilters
	}
	for _, f := range chain {
		if why, ok := refusedFilters[f.Name]; ok {
			return "", fmt.Errorf("filter %q is not supported by dswarm: %s", f.Name, why)
		}
		info, ok := AllowedFilters()[f.Name]
		if !ok || !allowed[f.Name] {
			return "", fmt.Errorf("filter %q is not on dswarm's list of %s filters that cannot touch files or other inputs", f.Name, media)
		}
		for _, a := range FilterArgs(f.Args) {
			switch {
			case a.Key == "":
			case a.Key == "enable" && info.Timeline:
				if media == "video" {
					return "", fmt.Errorf("filter %s: enable= depends on time, which a segment cut breaks", f.Name)
				}
			default:
				if _, ok := info.Options[a.Key]; !ok {
					return "", fmt.Errorf("filter %s has no option %q", f.Name, a.Key)
				}
			}
		}
	}
	return FormatFilterChain(chain), nil
}

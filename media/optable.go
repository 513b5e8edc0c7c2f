package media

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
)

// The table of ffmpeg's own options, generated from the installed ffmpeg by
// GenerateOptionTable and checked in, so that dswarm knows the arity of every
// option ffmpeg would parse: an option that takes no value but is given one
// turns that value into an extra output file. TestOptionTableMatchesFFmpeg
// keeps it in step with the ffmpeg on the machine
// (go test ./media -run TestOptionTable -update rewrites it).
//
//go:embed ffmpeg_options.txt
var optionTableText string

// CLIOption is one of ffmpeg's command-line options (the fftools table).
type CLIOption struct {
	Name  string
	Arity int // 0 or 1 values
	// Negatable options also parse as -noNAME (ffmpeg's OPT_BOOL).
	Negatable bool
}

// AVOption is an option of a library class that ffmpeg's command line
// reaches when no command-line option has the name: codec, format and
// scaler options. Every one of them takes exactly one value.
type AVOption struct {
	Class string // "AVCodecContext", "libx264", "mov/mp4/... muxer"
	Name  string
	Type  string // "int", "string", "flags", ...
	Flags string // ffmpeg's flag column, e.g. "E..V......."
}

// OptionTable is ffmpeg's option table: what its command-line parser does
// with each name.
type OptionTable struct {
	CLI map[string]CLIOption
	AV  map[string][]AVOption // by name; one entry per class that has it
}

// Arity is how many values ffmpeg takes after -name (the stream specifier
// already stripped), and whether ffmpeg knows the name at all. AVOptions
// always take one value; -noNAME is a value-less boolean.
func (t *OptionTable) Arity(name string) (int, bool) {
	if o, ok := t.CLI[name]; ok {
		return o.Arity, true
	}
	if _, ok := t.AV[name]; ok {
		return 1, true
	}
	if rest, ok := strings.CutPrefix(name, "no"); ok {
		if o, ok := t.CLI[rest]; ok && o.Negatable {
			return 0, true
		}
	}
	return 0, false
}

var (
	tableOnce sync.Once
	table     *OptionTable
)

// FFmpegOptions is the checked-in table of the ffmpeg options.
func FFmpegOptions() *OptionTable {
	tableOnce.Do(func() {
		t, err := ParseOptionTable(optionTableText)
		if err != nil {
			panic("media: the checked-in ffmpeg option table is broken: " + err.Error())
		}
		table = t
	})
	return table
}

// ParseOptionTable reads the text form written by FormatOptionTable.
func ParseOptionTable(text string) (*OptionTable, error) {
	t := &OptionTable{CLI: map[string]CLIOption{}, AV: map[string][]AVOption{}}
	return t, eachRecord(text, func(f []string) error {
		switch {
		case f[0] == "cli" && len(f) == 4:
			t.CLI[f[1]] = CLIOption{Name: f[1], Arity: int(f[2][0] - '0'), Negatable: f[3] == "neg"}
		case f[0] == "av" && len(f) == 5:
			t.AV[f[2]] = append(t.AV[f[2]], AVOption{Class: f[1], Name: f[2], Type: f[3], Flags: f[4]})
		default:
			return fmt.Errorf("%q", strings.Join(f, "\t"))
		}
		return nil
	})
}

// eachRecord calls fn with the tab-separated fields of every line of a
// checked-in table but blank lines and # comments; an error names the line.
func eachRecord(text string, fn func(fields []string) error) error {
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(strings.Split(line, "\t")); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	return sc.Err()
}

// FormatOptionTable writes t as sorted, tab-separated lines.
func FormatOptionTable(t *OptionTable, header string) string {
	var b strings.Builder
	b.WriteString(header)
	names := make([]string, 0, len(t.CLI))
	for n := range t.CLI {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		o := t.CLI[n]
		neg := "-"
		if o.Negatable {
			neg = "neg"
		}
		fmt.Fprintf(&b, "cli\t%s\t%d\t%s\n", n, o.Arity, neg)
	}
	var av []AVOption
	for _, os := range t.AV {
		av = append(av, os...)
	}
	sort.Slice(av, func(i, j int) bool {
		if av[i].Name != av[j].Name {
			return av[i].Name < av[j].Name
		}
		return av[i].Class+av[i].Type+av[i].Flags < av[j].Class+av[j].Type+av[j].Flags
	})
	for i, o := range av {
		if i > 0 && av[i-1] == o {
			continue
		}
		fmt.Fprintf(&b, "av\t%s\t%s\t%s\t%s\n", o.Class, o.Name, o.Type, o.Flags)
	}
	return b.String()
}

// HelpFull is what `ffmpeg -h full` lists: the command-line option names
// (arity unknown: the help text does not tell it reliably) and the
// AVOptions of every codec and format class.
type HelpFull struct {
	CLINames []string
	AV       []AVOption
}

// ParseHelpFull reads `ffmpeg -h full`. Command-line options are the lines
// "-name ..." of the option sections (the help and information section
// is left out: those options only print); AVOptions are the lines
// "  -name <type> flags ..." under "CLASS AVOptions:". Filter options
// (indented without a dash) are not reachable from the command line.
func ParseHelpFull(text string) HelpFull {
	var h HelpFull
	section, class := "", ""
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasSuffix(line, " AVOptions:"):
			section, class = "av", strings.TrimSuffix(line, " AVOptions:")
		case line != "" && line[0] != ' ' && line[0] != '-' && strings.HasSuffix(line, ":"):
			section = "cli"
			if strings.HasPrefix(line, "Getting help") || strings.HasPrefix(line, "Print help") {
				section = "help"
			}
		case section == "cli" && strings.HasPrefix(line, "-"):
			name := strings.Fields(line)[0][1:]
			if !seen[name] {
				seen[name] = true
				h.CLINames = append(h.CLINames, name)
			}
		case section == "av" && strings.HasPrefix(line, "  -"):
			f := strings.Fields(line)
			if len(f) >= 3 && strings.HasPrefix(f[1], "<") {
				h.AV = append(h.AV, AVOption{Class: class, Name: f[0][1:], Type: strings.Trim(f[1], "<>"), Flags: f[2]})
			}
		}
	}
	return h
}

// GenerateOptionTable builds the option table from the installed ffmpeg:
// the names from `ffmpeg -h full`, and each command-line option's arity from
// ffmpeg's own parser: given as the last word, an option that takes a value
// fails with "Missing argument for option", before anything runs. The
// -noNAME form of each is tried as well.
func GenerateOptionTable(ctx context.Context) (*OptionTable, error) {
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-h", "full").Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg -h full: %w", err)
	}
	h := ParseHelpFull(string(out))
	if len(h.CLINames) < 50 || len(h.AV) < 500 {
		return nil, fmt.Errorf("ffmpeg -h full: only %d command-line options and %d AVOptions found", len(h.CLINames), len(h.AV))
	}
	// An empty working directory: -report, for one, writes a file there.
	dir, err := os.MkdirTemp("", "dswarm-optprobe-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	probe := func(opt string) (string, error) {
		cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-"+opt)
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		_ = err // ffmpeg exits non-zero either way: no output file was given
		return string(b), nil
	}
	t := &OptionTable{CLI: map[string]CLIOption{}, AV: map[string][]AVOption{}}
	for _, name := range h.CLINames {
		o := CLIOption{Name: name}
		msg, err := probe(name)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.Contains(msg, "Missing argument for option"):
			o.Arity = 1
		case strings.Contains(msg, "Unrecognized option"):
			return nil, fmt.Errorf("ffmpeg lists -%s but does not recognise it", name)
		}
		// A boolean's -noNAME takes no value, even where -NAME takes one
		// (-autoscale 0, but -noautoscale).
		neg, err := probe("no" + name)
		if err != nil {
			return nil, err
		}
		o.Negatable = !strings.Contains(neg, "Unrecognized option") && !strings.Contains(neg, "Missing argument")
		t.CLI[name] = o
	}
	for _, o := range h.AV {
		t.AV[o.Name] = append(t.AV[o.Name], o)
	}
	return t, nil
}

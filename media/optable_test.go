package media

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite ffmpeg_options.txt from the installed ffmpeg")

// The checked-in table is the installed ffmpeg's: every option name, every
// arity (as ffmpeg's own parser decides it) and every AVOption's type.
func TestOptionTableMatchesFFmpeg(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	got, err := GenerateOptionTable(ctx)
	require.NoError(t, err)
	version, err := exec.Command("ffmpeg", "-hide_banner", "-version").Output()
	require.NoError(t, err)
	header := "# ffmpeg's options, generated from " + strings.SplitN(string(version), "\n", 2)[0] +
		"\n# by `go test ./media -run TestOptionTable -update`; do not edit.\n" +
		"# cli NAME ARITY NEGATABLE | av CLASS NAME TYPE FLAGS\n"
	text := FormatOptionTable(got, header)
	if *update {
		require.NoError(t, os.WriteFile("ffmpeg_options.txt", []byte(text), 0o644))
	}
	want := FFmpegOptions()
	for name, o := range got.CLI {
		assert.Equal(t, o, want.CLI[name], "-%s", name)
	}
	for name := range want.CLI {
		assert.Contains(t, got.CLI, name, "-%s is in the table but not in this ffmpeg", name)
	}
	assert.Equal(t, FormatOptionTable(want, ""), FormatOptionTable(got, ""),
		"AVOptions differ from this ffmpeg's (go test ./media -run TestOptionTable -update)")
}

func TestOptionTableArity(t *testing.T) {
	tab := FFmpegOptions()
	for _, tc := range []struct {
		name  string
		arity int
		known bool
	}{
		// The value-less options that dswarm once paired with a value.
		{"xerror", 0, true}, {"bitexact", 0, true}, {"stdin", 0, true}, {"dump", 0, true},
		{"hex", 0, true}, {"psnr", 0, true}, {"qphist", 0, true}, {"copyinkf", 0, true},
		{"force_fps", 0, true}, {"recast_media", 0, true},
		// ffmpeg 5.1's -autoscale takes a value; its -no form does not.
		{"autoscale", 1, true},
		{"noautoscale", 0, true}, {"nostdin", 0, true}, {"stats", 0, true},
		{"crf", 1, true}, {"filter", 1, true}, {"metadata", 1, true}, {"x264-params", 1, true},
		{"no-such-option", 0, false},
	} {
		arity, known := tab.Arity(tc.name)
		assert.Equal(t, tc.known, known, "-%s known", tc.name)
		assert.Equal(t, tc.arity, arity, "-%s arity", tc.name)
	}
}

package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
)

func TestFormatStatus(t *testing.T) {
	tests := []struct {
		name string
		st   job.Status
		want string
	}{
		{"probe", job.Status{Phase: "probe"}, "probe..."},
		{"merge", job.Status{Phase: "merge", Frames: 1000, FramesDone: 1000}, "merge..."},
		{"verify", job.Status{Phase: "verify"}, "verify..."},
		{"encode before the frames are known", job.Status{Phase: "encode", Segments: 10}, "encode..."},
		{
			"encode at the start",
			job.Status{Phase: "encode", Segments: 10, Frames: 1000, Elapsed: time.Second},
			"[........................] segments 0/10  frames 0/1000  0 fps  ETA --:--",
		},
		{
			"encode a quarter done",
			job.Status{Phase: "encode", SegmentsDone: 2, Segments: 10, FramesDone: 250, Frames: 1000, Elapsed: 10 * time.Second},
			"[######..................] segments 2/10  frames 250/1000  25 fps  ETA 0:30",
		},
		{
			"no time elapsed yet",
			job.Status{Phase: "encode", SegmentsDone: 2, Segments: 10, FramesDone: 250, Frames: 1000},
			"[######..................] segments 2/10  frames 250/1000  0 fps  ETA --:--",
		},
		{
			"bar rounds down",
			job.Status{Phase: "encode", SegmentsDone: 9, Segments: 10, FramesDone: 990, Frames: 1000, Elapsed: 99 * time.Second},
			"[#######################.] segments 9/10  frames 990/1000  10 fps  ETA 0:01",
		},
		{
			"all frames done",
			job.Status{Phase: "encode", SegmentsDone: 10, Segments: 10, FramesDone: 1000, Frames: 1000, Elapsed: 40 * time.Second},
			"[########################] segments 10/10  frames 1000/1000  25 fps  ETA --:--",
		},
		{
			// Retried segments count their frames again.
			"more frames than planned",
			job.Status{Phase: "encode", SegmentsDone: 10, Segments: 10, FramesDone: 1100, Frames: 1000, Elapsed: 10 * time.Second},
			"[########################] segments 10/10  frames 1100/1000  110 fps  ETA --:--",
		},
		{
			"ETA in hours",
			job.Status{Phase: "encode", Segments: 500, FramesDone: 1000, Frames: 1000000, Elapsed: 100 * time.Second},
			"[........................] segments 0/500  frames 1000/1000000  10 fps  ETA 27:45:00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, formatStatus(tt.st))
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"},
		{400 * time.Millisecond, "0:00"},
		{500 * time.Millisecond, "0:01"},
		{59*time.Second + 400*time.Millisecond, "0:59"},
		{59*time.Second + 500*time.Millisecond, "1:00"},
		{61 * time.Second, "1:01"},
		{59*time.Minute + 59*time.Second, "59:59"},
		{time.Hour, "1:00:00"},
		{time.Hour + time.Minute + time.Second, "1:01:01"},
		{100 * time.Hour, "100:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			assert.Equal(t, tt.want, formatDuration(tt.d))
		})
	}
}

// transcodeFlags is a flag set shaped like transcodeCmd's: string, int,
// duration and boolean flags, some with a short form.
func transcodeFlags() (*pflag.FlagSet, *string, *int, *bool) {
	fs := pflag.NewFlagSet("transcode", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(io.Discard)
	output := fs.StringP("output", "o", "", "")
	workers := fs.IntP("workers", "w", 4, "")
	fs.Duration("segment-duration", 10*time.Second, "")
	fs.String("temp-dir", "", "")
	keep := fs.Bool("keep-temp", false, "")
	fs.Bool("json", false, "")
	fs.BoolP("quiet", "q", false, "")
	return fs, output, workers, keep
}

func TestSplitTrailingFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		ffmpeg []string
		own    []string
	}{
		{"nothing", nil, nil, nil},
		{"only ffmpeg options", []string{"-c:v", "ffv1", "-c:a", "flac"}, []string{"-c:v", "ffv1", "-c:a", "flac"}, nil},
		{"-o first", []string{"-o", "out.mkv", "-c:v", "ffv1"}, []string{"-c:v", "ffv1"}, []string{"-o", "out.mkv"}},
		{"-o between ffmpeg options", []string{"-c:v", "ffv1", "-o", "out.mkv", "-crf", "0"}, []string{"-c:v", "ffv1", "-crf", "0"}, []string{"-o", "out.mkv"}},
		{"long flag with a separate value", []string{"-c:v", "libx264", "--workers", "4", "-crf", "23"}, []string{"-c:v", "libx264", "-crf", "23"}, []string{"--workers", "4"}},
		{"long flag with =", []string{"--workers=4", "-preset", "fast"}, []string{"-preset", "fast"}, []string{"--workers=4"}},
		{"boolean flag takes no value", []string{"--keep-temp", "-crf", "20"}, []string{"-crf", "20"}, []string{"--keep-temp"}},
		{"boolean flag with =", []string{"--json=false", "-an"}, []string{"-an"}, []string{"--json=false"}},
		{"duration flag", []string{"-an", "--segment-duration", "5s"}, []string{"-an"}, []string{"--segment-duration", "5s"}},
		{"several", []string{"--output=o.mp4", "-c:v", "libx264", "--temp-dir", "/tmp/x", "--json", "-y"}, []string{"-c:v", "libx264", "-y"}, []string{"--output=o.mp4", "--temp-dir", "/tmp/x", "--json"}},
		// Short flags other than -o are ffmpeg's: -q is ffmpeg's quality.
		{"short flags other than -o go to ffmpeg", []string{"-q", "2", "-w", "3"}, []string{"-q", "2", "-w", "3"}, nil},
		{"lone double dash goes to ffmpeg", []string{"--"}, []string{"--"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _, _, _ := transcodeFlags()
			ffmpeg, own, err := splitTrailingFlags(fs, tt.args)
			require.NoError(t, err)
			assert.Equal(t, tt.ffmpeg, ffmpeg)
			assert.Equal(t, tt.own, own)
		})
	}
}

func TestSplitTrailingFlagsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown long flag", []string{"-c:v", "ffv1", "--bogus"}, "unknown flag --bogus"},
		{"unknown long flag with a value", []string{"--bogus=1"}, "unknown flag --bogus=1"},
		{"-o without a value", []string{"-c:v", "ffv1", "-o"}, "flag -o needs a value"},
		{"long flag without a value", []string{"--temp-dir"}, "flag --temp-dir needs a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _, _, _ := transcodeFlags()
			ffmpeg, own, err := splitTrailingFlags(fs, tt.args)
			assert.EqualError(t, err, tt.want)
			assert.Nil(t, ffmpeg)
			assert.Nil(t, own)
		})
	}
}

// TestSplitTrailingFlagsParse checks that dswarm's own flags, once split off,
// parse into the flag set as transcodeCmd does with them.
func TestSplitTrailingFlagsParse(t *testing.T) {
	fs, output, workers, keep := transcodeFlags()
	require.NoError(t, fs.Parse([]string{"in.mp4", "-c:v", "ffv1", "-o", "out.mkv", "--workers=2", "--keep-temp", "-an"}))
	require.Equal(t, "in.mp4", fs.Arg(0))
	ffmpeg, own, err := splitTrailingFlags(fs, fs.Args()[1:])
	require.NoError(t, err)
	require.NoError(t, fs.Parse(own))
	assert.Equal(t, []string{"-c:v", "ffv1", "-an"}, ffmpeg)
	assert.Equal(t, "out.mkv", *output)
	assert.Equal(t, 2, *workers)
	assert.True(t, *keep)
}

// TestSplitTrailingFlagsHonoured: the usage says dswarm's flags may follow
// INPUT, but --local and --help are acted on before the trailing flags are
// split off and parsed.
func TestSplitTrailingFlagsHonoured(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.mp4")
	t.Run("--local after INPUT", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"transcode", missing, "--local", "-c:v", "ffv1"}, &stdout, &stderr)
		assert.NotContains(t, stderr.String(), "only --local is available")
		assert.Contains(t, stderr.String(), "missing.mp4", "want the job to fail on the missing input, got exit %d", code)
	})
	t.Run("--help after INPUT", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"transcode", "--local", missing, "--help"}, &stdout, &stderr)
		assert.Equal(t, 0, code, "stderr: %s", stderr.String())
		assert.Contains(t, stdout.String(), "Usage: dswarm transcode")
	})
}

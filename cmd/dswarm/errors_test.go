package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// mountTmpfs mounts a small tmpfs at dir (root only) and unmounts it at the
// end of the test.
func mountTmpfs(t *testing.T, dir string, opts string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs (CI runs as root)")
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", opts, "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mount tmpfs: %s", out)
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
}

// TestBadInput checks that every failure a user can hit ends with one line
// naming the cause and the object, a non-zero exit, no output and no
// temporary files.
func TestBadInput(t *testing.T) {
	good := testmedia.Generate(t, testmedia.H264Pyramid)
	cases := []struct {
		name    string
		setup   func(t *testing.T, dir string) (input string, extra []string)
		wantErr []string // substrings of the one-line error
	}{
		{"missing file", func(t *testing.T, dir string) (string, []string) {
			return filepath.Join(dir, "nope.mp4"), nil
		}, []string{"nope.mp4", "no such file"}},
		{"empty file", func(t *testing.T, dir string) (string, []string) {
			p := filepath.Join(dir, "empty.mp4")
			require.NoError(t, os.WriteFile(p, nil, 0o644))
			return p, nil
		}, []string{"empty.mp4", "empty file"}},
		{"text file", func(t *testing.T, dir string) (string, []string) {
			p := filepath.Join(dir, "notes.mp4")
			require.NoError(t, os.WriteFile(p, []byte("this is not a video\n"), 0o644))
			return p, nil
		}, []string{"notes.mp4", "Invalid data"}},
		{"truncated mp4", func(t *testing.T, dir string) (string, []string) {
			data, err := os.ReadFile(good)
			require.NoError(t, err)
			p := filepath.Join(dir, "truncated.mp4")
			require.NoError(t, os.WriteFile(p, data[:len(data)/2], 0o644))
			return p, nil
		}, []string{"truncated.mp4", "moov atom not found"}},
		{"audio only", func(t *testing.T, dir string) (string, []string) {
			return testmedia.Generate(t, testmedia.AudioOnly), nil
		}, []string{"audio-only.m4a", "no video stream"}},
		{"unknown ffmpeg option", func(t *testing.T, dir string) (string, []string) {
			return good, []string{"-c:v", "libx264", "-foo", "1"}
		}, []string{"option -foo: not an ffmpeg option"}},
		{"value the encoder refuses", func(t *testing.T, dir string) (string, []string) {
			return good, []string{"-c:v", "libx264", "-preset", "nosuchpreset"}
		}, []string{"ffmpeg rejects these options", "nosuchpreset"}},
		{"refused option", func(t *testing.T, dir string) (string, []string) {
			return good, []string{"-filter_complex", "[0:v]null"}
		}, []string{"-filter_complex", "not supported"}},
		{"time-dependent filter", func(t *testing.T, dir string) (string, []string) {
			return good, []string{"-vf", "scale=160:-2,fade=in:0:25"}
		}, []string{"fade", "not supported"}},
		{"unwritable output directory", func(t *testing.T, dir string) (string, []string) {
			ro := filepath.Join(dir, "ro")
			require.NoError(t, os.Mkdir(ro, 0o755))
			if os.Geteuid() == 0 {
				mountTmpfs(t, ro, "ro,size=1m")
			} else {
				require.NoError(t, os.Chmod(ro, 0o555))
			}
			return good, []string{"-o", filepath.Join(ro, "out.mkv")}
		}, []string{"ro", "not writable"}},
		{"full temp disk", func(t *testing.T, dir string) (string, []string) {
			tmp := filepath.Join(dir, "small")
			require.NoError(t, os.Mkdir(tmp, 0o755))
			mountTmpfs(t, tmp, "size=256k")
			return good, []string{"--temp-dir", tmp, "-c:v", "ffv1"}
		}, []string{"No space left on device"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			outDir := filepath.Join(dir, "out")
			require.NoError(t, os.Mkdir(outDir, 0o755))
			input, extra := tc.setup(t, dir)
			out := filepath.Join(outDir, "result.mkv")
			args := append([]string{"--local", "--segment-duration", "1s", input, "-o", out}, extra...)
			code, stdout, stderr := transcode(t, args...)
			assert.NotEqual(t, 0, code)
			assert.Empty(t, stdout)
			line := strings.TrimSpace(stderr)
			assert.NotContains(t, line, "\n", "the error is one line")
			assert.True(t, strings.HasPrefix(line, "dswarm: "), line)
			for _, want := range tc.wantErr {
				assert.Contains(t, line, want)
			}
			// Nothing left behind: not the output, not a partial, not temp files.
			assertEmptyDir(t, outDir)
			for _, d := range []string{filepath.Join(dir, "small"), filepath.Join(dir, "ro")} {
				if _, err := os.Stat(d); err == nil {
					assertEmptyDir(t, d)
				}
			}
		})
	}
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "left behind in %s", dir)
}

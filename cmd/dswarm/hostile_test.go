package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/optcorpus"
	"github.com/dswarm/dswarm/internal/testmedia"
)

const secretText = "SECRET-CANARY-7f3a"

// canary makes the folder an attack would write into and the secret file it
// would read, and returns the corpus's placeholders' replacements.
func canary(t *testing.T) (dir, out, secret string) {
	// Not t.TempDir(): its name holds the test's, commas and colons included.
	dir, err := os.MkdirTemp("", "canary")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	secret = filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(secretText+"\n"), 0o600))
	return dir, filepath.Join(dir, "x"), secret
}

// assertRefused: a refused hostile option list ends with one line naming the
// option, a non-zero exit, no file where it pointed, and nothing of the
// secret on any output.
func assertRefused(t *testing.T, code int, stdout, stderr, dir string, outputs ...string) {
	t.Helper()
	assert.NotEqual(t, 0, code)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	assert.Len(t, lines, 1, "one line: %q", stderr)
	assert.Contains(t, stderr, "option ")
	assert.NotContains(t, stdout+stderr, secretText)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the secret in %s", dir)
	for _, o := range outputs {
		assert.NoFileExists(t, o)
	}
}

// TestHostileOptionsLocal runs every hostile option list of the corpus
// through `dswarm transcode --local` with real ffmpeg.
func TestHostileOptionsLocal(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	for _, tc := range optcorpus.Hostile {
		if tc.OK {
			continue
		}
		t.Run(tc.Class+" "+strings.Join(tc.Args, " "), func(t *testing.T) {
			dir, out, secret := canary(t)
			dst := filepath.Join(t.TempDir(), "out.mkv")
			args := append([]string{"--local", "-q", src, "-o", dst}, optcorpus.Substitute(tc.Args, out, secret)...)
			code, stdout, stderr := transcode(t, args...)
			assertRefused(t, code, stdout, stderr, dir, dst)
			assert.Contains(t, stderr, tc.Why)
		})
	}
}

// TestOrdinaryOptions: everyday option lists still work end to end, and a
// filter chain written with quotes and escapes gives exactly the frames
// single-pass ffmpeg gives for the user's own spelling: the canonical chain
// dswarm runs is the chain the user meant.
func TestOrdinaryOptions(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	for _, tc := range []struct {
		name string
		args []string
		same bool // compare frames with single-pass ffmpeg (lossless)
	}{
		{"scale crop pad", []string{"-c:v", "ffv1", "-vf", `scale=w='min(iw,256)':h=-2,crop=iw-16:ih-16,pad=iw+16:ih+16:8:8:color='0x203040'`}, true},
		{"escaped drawbox", []string{"-c:v", "ffv1", "-vf", `drawbox=x=10:y=10:w=100:h=50:color=red\@0.5:t=fill,hflip`}, true},
		{"x264 params", []string{"-c:v", "libx264", "-preset", "ultrafast", "-x264-params", "keyint=25:min-keyint=25:no-mbtree=1"}, false},
		{"x265 params", []string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=25:log-level=error"}, false},
		{"audio filters and metadata", []string{"-c:v", "ffv1", "-af", "volume=0.5,aresample=44100", "-c:a", "flac", "-metadata", "title=A: test", "-metadata:s:a:0", "language=eng"}, false},
		{"movflags", []string{"-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart", "-f", "mp4"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext := ".mkv"
			if tc.name == "movflags" {
				ext = ".mp4"
			}
			dst := filepath.Join(t.TempDir(), "out"+ext)
			code, _, stderr := transcode(t, append([]string{"--local", "-q", "--segment-duration", "2s", src, "-o", dst}, tc.args...)...)
			require.Equal(t, 0, code, stderr)
			if !tc.same {
				return
			}
			ref := filepath.Join(t.TempDir(), "ref.mkv")
			out, err := exec.Command("ffmpeg", append(append([]string{"-nostdin", "-v", "error", "-i", src}, tc.args...), ref)...).CombinedOutput()
			require.NoError(t, err, "%s", out)
			assert.Equal(t, testmedia.FrameHashes(t, ref, ""), testmedia.FrameHashes(t, dst, ""))
		})
	}
}

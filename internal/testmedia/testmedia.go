// Package testmedia generates hard test media with ffmpeg's lavfi sources:
// B-frame pyramids, open GOPs in MPEG-TS, variable frame rate, a single
// keyframe, several audio tracks, audio that starts before the video.
// No footage ships with any package, so every test makes its own.
package testmedia

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Spec is one generated file: ffmpeg arguments (inputs and output options)
// and the file name it is written to.
type Spec struct {
	Name string
	Args []string
}

// Generate writes the file for spec once and returns its path. Files are
// cached in the system temp dir under a hash of their arguments, so repeated
// runs reuse them and a changed recipe makes a new file.
func Generate(tb testing.TB, spec Spec) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(strings.Join(append([]string{spec.Name}, spec.Args...), "\x00")))
	dir := filepath.Join(os.TempDir(), "dswarm-testmedia", hex.EncodeToString(sum[:8]))
	path := filepath.Join(dir, spec.Name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp-"+spec.Name)
	args := append([]string{"-nostdin", "-hide_banner", "-v", "error", "-y"}, spec.Args...)
	args = append(args, tmp)
	out, err := exec.Command("ffmpeg", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("generate %s: ffmpeg %s: %v\n%s", spec.Name, strings.Join(args, " "), err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

func video(src string, secs float64) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("%s:d=%g", src, secs)}
}

func tone(freq int, secs float64) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("sine=f=%d:sample_rate=48000:d=%g", freq, secs)}
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

const small = "testsrc2=s=320x240:r=25"

// The lossless-exactness corpus: each file is hard for segmenting in its
// own way.
var (
	H264Pyramid = Spec{"h264-pyramid.mp4", join(video(small, 6), tone(440, 6),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-x264-params", "b-pyramid=normal:keyint=25:min-keyint=25:scenecut=0:b-adapt=0", "-c:a", "aac"})}
	HEVC = Spec{"hevc.mp4", join(video(small, 6), tone(440, 6),
		[]string{"-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1", "-x265-params", "keyint=25:min-keyint=25:bframes=4:log-level=error", "-c:a", "aac"})}
	MPEG2OpenGOP = Spec{"mpeg2-opengop.ts", join(video(small, 6), tone(440, 6),
		[]string{"-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-flags", "-cgop", "-q:v", "4", "-c:a", "mp2", "-f", "mpegts"})}
	VFR = Spec{"vfr.mp4", join(video("testsrc2=s=320x240:r=30", 6), tone(440, 6),
		[]string{"-vf", "select='not(eq(mod(n\\,5)\\,2))*not(eq(mod(n\\,7)\\,3))'", "-fps_mode", "vfr",
			"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "20", "-c:a", "aac"})}
	SingleKeyframe = Spec{"single-keyframe.mp4", join(video(small, 12), tone(440, 12),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-x264-params", "keyint=infinite:scenecut=0", "-c:a", "aac"})}
	MJPEG = Spec{"mjpeg.avi", join(video(small, 4), tone(440, 4),
		[]string{"-c:v", "mjpeg", "-q:v", "5", "-c:a", "pcm_s16le"})}
	NoAudio = Spec{"no-audio.mp4", join(video(small, 5),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25"})}
	TwoAudio = Spec{"two-audio.mkv", join(video(small, 5), tone(440, 5), tone(880, 5),
		[]string{"-map", "0:v", "-map", "1:a", "-map", "2:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "libopus"})}
	AudioFirst = Spec{"audio-first.mkv", join([]string{"-itsoffset", "1"}, video(small, 5), tone(440, 6),
		[]string{"-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac"})}
	Subtitles = Spec{"subtitles.mkv", join(video(small, 5), tone(440, 5),
		[]string{"-f", "srt", "-i", SRTFile()},
		[]string{"-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-c:s", "srt"})}
	// AudioOnly has no video stream at all.
	AudioOnly = Spec{"audio-only.m4a", join(tone(440, 3), []string{"-c:a", "aac"})}
	// Busy is the source of the placement tests: 30 s of 720p with 1 s
	// GOPs, enough encoding work that node speed, not start-up, decides.
	Busy = Spec{"busy-720p.mp4", join(video("testsrc2=s=1280x720:r=25", 30),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25"})}
	// Lossy is the source of the lossy-join tests: moving detail, 10 s.
	Lossy = Spec{"lossy-source.mp4", join(video("testsrc2=s=640x360:r=25", 10), tone(440, 10),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-qp", "10", "-g", "50", "-c:a", "aac"})}
)

// SRTFile writes a small subtitle file and returns its path.
func SRTFile() string {
	dir := filepath.Join(os.TempDir(), "dswarm-testmedia")
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, "subs.srt")
	srt := "1\n00:00:00,500 --> 00:00:02,000\nfirst line\n\n2\n00:00:02,500 --> 00:00:04,000\nsecond line\n"
	_ = os.WriteFile(path, []byte(srt), 0o644)
	return path
}

// FrameHashes decodes the first video stream of path and returns the MD5 of
// every frame in order (ffmpeg's framemd5 hash column). pixFmt, when set,
// converts first, so that files of different pixel formats can be compared.
func FrameHashes(tb testing.TB, path, pixFmt string) []string {
	tb.Helper()
	return FilteredFrameHashes(tb, path, "", pixFmt)
}

// FilteredFrameHashes is FrameHashes of the frames after the filter chain vf
// (e.g. "fps=fps=15", the reference for a frame-rate change).
func FilteredFrameHashes(tb testing.TB, path, vf, pixFmt string) []string {
	tb.Helper()
	args := []string{"-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough"}
	if vf != "" {
		args = append(args, "-vf", vf)
	}
	if pixFmt != "" {
		args = append(args, "-pix_fmt", pixFmt)
	}
	args = append(args, "-f", "framemd5", "-")
	out, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		tb.Fatalf("framemd5 %s: %v", path, err)
	}
	var hashes []string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		hashes = append(hashes, strings.TrimSpace(f[len(f)-1]))
	}
	return hashes
}

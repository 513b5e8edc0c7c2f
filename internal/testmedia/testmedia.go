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

// Inputs for what a transcode must keep besides the frames: subtitles of
// each kind, chapters, attachments, per-stream tags and dispositions, the
// video's colour, field order, rotation and timecode, HDR10 metadata.
var (
	// ASSLate is ASS subtitles in Matroska whose first event comes after
	// the first second.
	ASSLate = Spec{"ass-late.mkv", join(video(small, 5), tone(440, 5),
		[]string{"-i", ASSFile(3.2)},
		[]string{"-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-c:s", "ass"})}
	// MovText is MP4 with mov_text subtitles.
	MovText = Spec{"mov-text.mp4", join(video(small, 5), tone(440, 5),
		[]string{"-f", "srt", "-i", SRTFile()},
		[]string{"-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-c:s", "mov_text",
			"-metadata:s:s:0", "language=eng"})}
	// Chapters has two chapters and global tags.
	Chapters = Spec{"chapters.mkv", join(video(small, 5), tone(440, 5),
		[]string{"-f", "ffmetadata", "-i", ChaptersFile()},
		[]string{"-map", "0:v", "-map", "1:a", "-map_metadata", "2", "-map_chapters", "2",
			"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac"})}
	// Attachment is ASS subtitles with the font they use attached.
	Attachment = Spec{"attachment.mkv", join(video(small, 5),
		[]string{"-i", ASSFile(0.5)},
		[]string{"-map", "0:v", "-map", "1:s", "-attach", FontFile(), "-metadata:s:t", "mimetype=application/x-truetype-font",
			"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:s", "ass"})}
	// Tagged has per-stream languages and titles, two audio tracks of
	// which the second is default, and a forced subtitle track.
	Tagged = Spec{"tagged.mkv", join(video(small, 5), tone(440, 5), tone(880, 5),
		[]string{"-f", "srt", "-i", SRTFile(), "-i", ASSFile(0.5)},
		[]string{"-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-map", "4:s",
			"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-c:s:0", "srt", "-c:s:1", "ass",
			"-metadata:s:v:0", "title=Main video", "-metadata:s:v:0", "language=eng",
			"-metadata:s:a:0", "language=eng", "-metadata:s:a:0", "title=English",
			"-metadata:s:a:1", "language=fra", "-metadata:s:a:1", "title=Français",
			"-metadata:s:s:0", "language=deu", "-metadata:s:s:1", "language=eng", "-metadata:s:s:1", "title=Signs",
			"-disposition:a:0", "0", "-disposition:a:1", "default", "-disposition:s:0", "0", "-disposition:s:1", "forced"})}
	// Interlaced is H.264 coded interlaced, top field first.
	Interlaced = Spec{"interlaced.mkv", join(video(small, 5),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-flags", "+ildct+ilme", "-top", "1", "-field_order", "tt"})}
	// Timecode is a QuickTime file with a timecode track.
	Timecode = Spec{"timecode.mov", join(video(small, 5), tone(440, 5),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-timecode", "01:02:03:04"})}
	// HEVCColour is HEVC with full-range BT.709 colour tagged.
	HEVCColour = Spec{"hevc-bt709.mp4", join(video(small, 5),
		[]string{"-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "keyint=25:log-level=error",
			"-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "pc"})}
	// HDR10 is 10-bit PQ HEVC with mastering display and content light
	// level SEI on every keyframe.
	HDR10 = Spec{"hdr10.mkv", join(video(small, 5),
		[]string{"-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p10le",
			"-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc",
			"-x265-params", "keyint=25:log-level=error:hdr10=1:repeat-headers=1:" + HDR10MasterDisplay + ":max-cll=1000,400"})}
)

// HDR10MasterDisplay is the HDR10 source's mastering display (x265 syntax).
const HDR10MasterDisplay = "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)"

// Rotated is an MP4 whose video carries a display matrix turning it 90°
// (ffmpeg 5.1 writes one only when stream copying).
func Rotated(tb testing.TB) Spec {
	base := Generate(tb, Spec{"rotate-base.mp4", join(video(small, 5), tone(440, 5),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac"})})
	return Spec{"rotated.mp4", []string{"-i", base, "-c", "copy", "-metadata:s:v:0", "rotate=90"}}
}

// ASSFile writes an ASS subtitle file whose two events start at first and
// two seconds later, and returns its path.
func ASSFile(first float64) string {
	ts := func(s float64) string {
		return fmt.Sprintf("%d:%02d:%05.2f", int(s)/3600, int(s)/60%60, s-float64(int(s)/60*60))
	}
	ass := "[Script Info]\nScriptType: v4.00+\nPlayResX: 320\nPlayResY: 240\n\n[V4+ Styles]\n" +
		"Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n" +
		"Style: Default,DejaVu Sans,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\n\n[Events]\n" +
		"Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n" +
		fmt.Sprintf("Dialogue: 0,%s,%s,Default,,0,0,0,,{\\b1}first{\\b0} line\n", ts(first), ts(first+1.5)) +
		fmt.Sprintf("Dialogue: 0,%s,%s,Default,,0,0,0,,second line\n", ts(first+2), ts(first+3))
	return writeAux(fmt.Sprintf("subs-%g.ass", first), ass)
}

// ChaptersFile writes an ffmetadata file with global tags and two
// chapters, and returns its path.
func ChaptersFile() string {
	return writeAux("chapters.txt", ";FFMETADATA1\ntitle=Global title\nartist=Someone\n\n"+
		"[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=Opening\n\n"+
		"[CHAPTER]\nTIMEBASE=1/1000\nSTART=2000\nEND=5000\ntitle=Rest\n")
}

// FontFile writes a stand-in font file to attach and returns its path
// (its content does not matter to a muxer).
func FontFile() string {
	return writeAux("font.ttf", "\x00\x01\x00\x00 a stand-in for a TrueType font\n")
}

func writeAux(name, content string) string {
	dir := filepath.Join(os.TempDir(), "dswarm-testmedia")
	_ = os.MkdirAll(dir, 0o755)
	path := filepath.Join(dir, name)
	_ = os.WriteFile(path, []byte(content), 0o644)
	return path
}

// PGSFile writes a Blu-ray (PGS, .sup) subtitle file of w x h with two
// captions, each a filled box shown for 1.5 s from start and start+2 s,
// and returns its path. ffmpeg has no PGS encoder, so the test inputs with
// image subtitles start from this one (and ffmpeg turns it into DVB and
// DVD subtitles).
func PGSFile(w, h int, start float64) string {
	var b []byte
	u16 := func(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
	segment := func(pts float64, typ byte, data []byte) {
		t := uint32(pts * 90000)
		b = append(b, 'P', 'G', byte(t>>24), byte(t>>16), byte(t>>8), byte(t), 0, 0, 0, 0, typ)
		b = append(b, u16(len(data))...)
		b = append(b, data...)
	}
	bw, bh := w/2, h/8
	x, y := (w-bw)/2, h-bh-h/16
	// One line of the object: bw pixels of palette entry 1, then the end
	// of line, in PGS's run-length code.
	line := []byte{0, 0xC0 | byte(bw>>8), byte(bw), 1, 0, 0}
	var rle []byte
	for i := 0; i < bh; i++ {
		rle = append(rle, line...)
	}
	for n, at := range []float64{start, start + 2} {
		// Presentation: epoch start, one object in window 0.
		pcs := append(append(u16(w), u16(h)...), 0x10)
		pcs = append(pcs, u16(2*n)...)
		pcs = append(pcs, 0x80, 0, 0, 1, 0, 0, 0, 0)
		pcs = append(append(pcs, u16(x)...), u16(y)...)
		segment(at, 0x16, pcs)
		wds := append([]byte{1, 0}, append(append(append(u16(x), u16(y)...), u16(bw)...), u16(bh)...)...)
		segment(at, 0x17, wds)
		// Palette: entry 1 is opaque white (Y, Cr, Cb, alpha).
		segment(at, 0x14, []byte{0, 0, 1, 235, 128, 128, 255})
		ods := append([]byte{0, 0, 0, 0xC0}, byte((len(rle)+4)>>16), byte((len(rle)+4)>>8), byte(len(rle)+4))
		ods = append(append(append(ods, u16(bw)...), u16(bh)...), rle...)
		segment(at, 0x15, ods)
		segment(at, 0x80, nil)
		// Clear it 1.5 s later: a presentation with no objects.
		end := append(append(u16(w), u16(h)...), 0x10)
		end = append(end, u16(2*n+1)...)
		end = append(end, 0, 0, 0, 0)
		segment(at+1.5, 0x16, end)
		segment(at+1.5, 0x17, wds)
		segment(at+1.5, 0x80, nil)
	}
	return writeAux(fmt.Sprintf("subs-%dx%d-%g.sup", w, h, start), string(b))
}

// PGSInMKV is Blu-ray (PGS) image subtitles in Matroska.
var PGSInMKV = Spec{"pgs.mkv", join(video(small, 5), tone(440, 5),
	[]string{"-i", PGSFile(320, 240, 0.5)},
	[]string{"-map", "0:v", "-map", "1:a", "-map", "2:s", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-c:s", "copy",
		"-metadata:s:s:0", "language=fra"})}

// DVBInTS is DVB image subtitles in MPEG-TS, made from PGSInMKV.
func DVBInTS(tb testing.TB) Spec {
	return Spec{"dvb.ts", []string{"-i", Generate(tb, PGSInMKV), "-map", "0", "-c:v", "copy", "-c:a", "copy", "-c:s", "dvbsub", "-f", "mpegts"}}
}

// DVDInMKV is DVD image subtitles in Matroska, made from PGSInMKV.
func DVDInMKV(tb testing.TB) Spec {
	return Spec{"dvdsub.mkv", []string{"-i", Generate(tb, PGSInMKV), "-map", "0", "-c:v", "copy", "-c:a", "copy", "-c:s", "dvdsub"}}
}

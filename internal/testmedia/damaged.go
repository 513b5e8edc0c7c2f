package testmedia

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Damaged and unusual inputs: MPEG-TS captures spliced at the byte level
// (an ad break at another resolution that repeats the timestamps, a clock
// that jumps), timestamps that wrap at 33 bits, and files with bytes
// overwritten in the middle. Each is made from generated parts.

// tsPart is an H.264+AAC MPEG-TS of secs seconds from the lavfi source src;
// extra are further output options (e.g. -output_ts_offset).
func tsPart(name, src string, secs float64, extra ...string) Spec {
	return Spec{name, join(video(src, secs), tone(440, secs),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "25", "-c:a", "aac"}, extra,
		[]string{"-f", "mpegts"})}
}

func mpeg2Part(name, src string, secs float64) Spec {
	return Spec{name, join(video(src, secs), tone(440, secs),
		[]string{"-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-flags", "-cgop", "-q:v", "4", "-c:a", "mp2", "-f", "mpegts"})}
}

// Parts of the spliced files. Every part's timestamps start at the same
// 1.4 s (the MPEG-TS muxer's default), unless offset.
var (
	ProgramTS = tsPart("program.ts", small, 4)
	// AdTS is another resolution and picture, with the same timestamps.
	AdTS = tsPart("ad-480x360.ts", "smptehdbars=s=480x360:r=25", 3)
	// AdAfterTS is AdTS with timestamps that continue ProgramTS's: a
	// resolution change without a timestamp break.
	AdAfterTS = tsPart("ad-after-480x360.ts", "smptehdbars=s=480x360:r=25", 3, "-output_ts_offset", "4.08")
	// OverlapTS overlaps the last two frames of ProgramTS: timestamps step
	// back by less than ffmpeg's 0.1 s, which it does not repair.
	OverlapTS = tsPart("overlap-480x360.ts", "smptehdbars=s=480x360:r=25", 3, "-output_ts_offset", "4")
	// GapTS starts 5 s after ProgramTS ends: a hole that ffmpeg keeps.
	GapTS = tsPart("gap.ts", small, 3, "-output_ts_offset", "9")
	// LaterTS starts 30 s later: a jump past ffmpeg's 10 s threshold.
	LaterTS       = tsPart("later.ts", small, 3, "-output_ts_offset", "30")
	ProgramMPEG2  = mpeg2Part("program-mpeg2.ts", small, 4)
	AdMPEG2       = mpeg2Part("ad-mpeg2-480x360.ts", "smptebars=s=480x360:r=25", 3)
	ProgramLonger = tsPart("program-6s.ts", small, 6)
	ProgramMP4    = Spec{"program-6s.mp4", join(video(small, 6), tone(440, 6),
		[]string{"-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "25", "-c:a", "aac"})}
	// WrapTS has timestamps that start 3.3 s before the 33-bit MPEG-TS
	// clock wraps (2^33 / 90 kHz = 95443.7 s; the muxer adds 1.4 s).
	WrapTS = tsPart("wrap.ts", small, 5, "-output_ts_offset", "95439")
)

// Spliced writes the byte-level concatenation of the files of parts, as a
// capture that runs from one program into another does, and returns its
// path.
func Spliced(tb testing.TB, name string, parts ...Spec) string {
	tb.Helper()
	var data []byte
	key := []string{"spliced", name}
	for _, p := range parts {
		b, err := os.ReadFile(Generate(tb, p))
		if err != nil {
			tb.Fatal(err)
		}
		data = append(data, b...)
		key = append(key, p.Name, strings.Join(p.Args, " "))
	}
	return writeDerived(tb, name, key, data)
}

// Corrupted writes a copy of spec's file with n bytes overwritten by
// random ones (fixed seed) within span bytes from the fraction at of the
// file, and returns its path.
func Corrupted(tb testing.TB, spec Spec, at float64, span, n int, seed int64) string {
	tb.Helper()
	data, err := os.ReadFile(Generate(tb, spec))
	if err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewSource(seed))
	start := int(float64(len(data)) * at)
	for i := 0; i < n; i++ {
		data[min(start+r.Intn(span), len(data)-1)] = byte(r.Intn(256))
	}
	name := fmt.Sprintf("corrupt-%d-%s", seed, spec.Name)
	return writeDerived(tb, name, []string{"corrupt", spec.Name, strings.Join(spec.Args, " "), fmt.Sprint(at, span, n, seed)}, data)
}

func writeDerived(tb testing.TB, name string, key []string, data []byte) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(strings.Join(append(key, name), "\x00")))
	dir := filepath.Join(os.TempDir(), "dswarm-testmedia", hex.EncodeToString(sum[:8]))
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp-"+name)
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
	return path
}

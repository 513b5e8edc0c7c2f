package bench

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// Scenes60s is the 60 s source of the rate-control comparison: four 15 s
// scenes from still to hard (colour bars, a Mandelbrot zoom, a test pattern
// under heavy grain, the game of life), so that a bitrate target has to be
// shared unevenly to be met well.
var Scenes60s = testmedia.Spec{Name: "bench-scenes-720p-60s.mp4", Args: []string{
	"-f", "lavfi", "-i", "smptehdbars=s=1280x720:r=25:d=15",
	"-f", "lavfi", "-i", "mandelbrot=s=1280x720:r=25,trim=duration=15",
	"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=15,noise=alls=20:allf=t",
	"-f", "lavfi", "-i", "life=s=1280x720:r=25:mold=10:ratio=0.1:death_color=#C83232:life_color=#00ff00,trim=duration=15",
	"-filter_complex", "[0:v]format=yuv420p[a];[1:v]format=yuv420p[b];[2:v]format=yuv420p[c];[3:v]format=yuv420p,setsar=1[d];[a][b][c][d]concat=n=4:v=1:a=0[v]",
	"-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "8", "-g", "50",
}}

// Zoom60s is a continuous 60 s source that grows harder as it goes (a
// Mandelbrot zoom), where one-pass ABR lands near its target: the scenes
// clip's still scene makes x264's one-pass overshoot by half, so there its
// quality is not compared at the same bits.
var Zoom60s = testmedia.Spec{Name: "bench-zoom-720p-60s.mp4", Args: []string{
	"-f", "lavfi", "-i", "mandelbrot=s=1280x720:r=25,trim=duration=60,format=yuv420p",
	"-c:v", "libx264", "-preset", "ultrafast", "-qp", "8", "-g", "50",
}}

// quality is a video's bitrate and its per-frame PSNR against the source.
type quality struct {
	bitrate, mean, low1 float64
}

func measureQuality(b *testing.B, out, src string) quality {
	b.Helper()
	probe := func(args ...string) []string {
		text, err := exec.Command("ffprobe", append([]string{"-v", "error", "-of", "csv=p=0"}, append(args, out)...)...).Output()
		if err != nil {
			b.Fatalf("ffprobe %s: %v", out, err)
		}
		return strings.Fields(string(text))
	}
	var bytes float64
	for _, l := range probe("-select_streams", "v:0", "-show_entries", "packet=size") {
		v, _ := strconv.ParseFloat(strings.Trim(l, ","), 64)
		bytes += v
	}
	dur, _ := strconv.ParseFloat(probe("-show_entries", "format=duration")[0], 64)
	ps, err := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", out, "-i", src, "-lavfi",
		"[0:v]setpts=N/TB[a];[1:v]setpts=N/TB[b];[a][b]psnr=stats_file=-", "-f", "null", "-").Output()
	if err != nil {
		b.Fatalf("psnr %s: %v", out, err)
	}
	var frames []float64
	for _, f := range strings.Fields(string(ps)) {
		if v, ok := strings.CutPrefix(f, "psnr_avg:"); ok {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsInf(p, 1) {
				p = 100
			}
			frames = append(frames, p)
		}
	}
	q := quality{bitrate: bytes * 8 / dur}
	for _, p := range frames {
		q.mean += p / float64(len(frames))
	}
	sort.Float64s(frames)
	n := max(1, len(frames)/100)
	for _, p := range frames[:n] {
		q.low1 += p / float64(n)
	}
	return q
}

// rateCase is one encoder and target of the rate-control comparison.
type rateCase struct {
	name   string
	opts   []string
	target float64
	// pass is how single-pass ffmpeg runs pass n of its two-pass with
	// stats at log; nil where this ffmpeg has none (SVT-AV1 in 5.1).
	pass  func(n int, log string) []string
	clips int // how many of the clips it runs on, in order
}

// BenchmarkRateControl encodes 60 s clips to one bitrate target
// three ways, side by side: single-pass ffmpeg one-pass ABR, single-pass
// ffmpeg two-pass, and dswarm --local (its distributed two-pass), and
// prints each one's bitrate error, mean PSNR and 1%-low frame PSNR.
func BenchmarkRateControl(b *testing.B) {
	clips := []struct {
		name string
		path string
	}{
		{"60 s of 720p in four scenes", testmedia.Generate(b, Scenes60s)},
		{"60 s of 720p zooming in", testmedia.Generate(b, Zoom60s)},
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "dswarm")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/dswarm").CombinedOutput(); err != nil {
		b.Fatalf("build dswarm: %v\n%s", err, out)
	}
	lavfPass := func(n int, log string) []string {
		return []string{"-pass", strconv.Itoa(n), "-passlogfile", log}
	}
	cases := []rateCase{
		{"libx264 veryfast 1500k", []string{"-an", "-c:v", "libx264", "-preset", "veryfast", "-b:v", "1500k"}, 1.5e6, lavfPass, 2},
		{"mpeg4 3M", []string{"-an", "-c:v", "mpeg4", "-b:v", "3M"}, 3e6, lavfPass, 1},
	}
	// DSWARM_BENCH_CODECS=all adds the slower encoders, at fast presets; a
	// list of encoders (libx265,libvpx-vp9) runs only their cases.
	only := os.Getenv("DSWARM_BENCH_CODECS")
	if only != "" {
		cases = append(cases, []rateCase{
			{"libx265 ultrafast 1200k", []string{"-an", "-c:v", "libx265", "-preset", "ultrafast", "-b:v", "1200k"}, 1.2e6,
				func(n int, log string) []string {
					return []string{"-x265-params", fmt.Sprintf("pass=%d:stats=%s.log", n, log)}
				}, 1},
			// libvpx writes no two-pass stats at -deadline realtime.
			{"libvpx-vp9 good 1200k", []string{"-an", "-c:v", "libvpx-vp9", "-deadline", "good", "-cpu-used", "5", "-row-mt", "1", "-b:v", "1200k"}, 1.2e6, lavfPass, 1},
			{"libsvtav1 preset 12 1200k", []string{"-an", "-c:v", "libsvtav1", "-preset", "12", "-b:v", "1200k"}, 1.2e6, nil, 1},
		}...)
	}
	if only != "" && only != "all" {
		var keep = cases[:0]
		for _, tc := range cases {
			for _, c := range strings.Split(only, ",") {
				if slices.Contains(tc.opts, c) {
					keep = append(keep, tc)
					break
				}
			}
		}
		cases = keep
	}
	for _, tc := range cases {
		for _, clip := range clips[:tc.clips] {
			rateControlCase(b, bin, dir, clip.name, clip.path, tc)
		}
	}
}

// rateControlCase encodes src to one target the three ways and prints
// their figures.
func rateControlCase(b *testing.B, bin, dir, clip, src string, tc rateCase) {
	ffmpeg := func(extra ...string) []string {
		return append(append([]string{"-nostdin", "-v", "error", "-y", "-i", src}, tc.opts...), extra...)
	}
	one := filepath.Join(dir, "one.mp4")
	m1 := runMeasured(b, "ffmpeg", ffmpeg(one)...)
	two := filepath.Join(dir, "two.mp4")
	log := filepath.Join(dir, "2pass")
	var p1, p2 measure
	if tc.pass != nil {
		p1 = runMeasured(b, "ffmpeg", ffmpeg(append(tc.pass(1, log), "-f", "null", "-")...)...)
		p2 = runMeasured(b, "ffmpeg", ffmpeg(append(tc.pass(2, log), two)...)...)
	}
	ds := filepath.Join(dir, "dswarm.mp4")
	md := runMeasured(b, bin, append([]string{"transcode", "--local", "-q", "--overwrite", src, "-o", ds}, tc.opts...)...)
	fmt.Printf("%s, %s:\n", tc.name, clip)
	fmt.Printf("  %-26s %9s %8s %9s %9s %8s\n", "", "kbit/s", "error", "mean dB", "1%-low", "wall s")
	rows := []struct {
		name string
		path string
		wall float64
	}{
		{"ffmpeg one-pass ABR", one, m1.wall.Seconds()},
		{"ffmpeg two-pass", two, (p1.wall + p2.wall).Seconds()},
		{"dswarm --local", ds, md.wall.Seconds()},
	}
	var qs []quality
	for _, r := range rows {
		if r.path == two && tc.pass == nil {
			fmt.Printf("  %-26s (this ffmpeg has no two-pass for it; dswarm splits by an x264 probe and encodes one pass per segment)\n", r.name)
			qs = append(qs, quality{})
			continue
		}
		q := measureQuality(b, r.path, src)
		qs = append(qs, q)
		fmt.Printf("  %-26s %9.0f %+7.2f%% %9.2f %9.2f %8.1f\n", r.name, q.bitrate/1e3, 100*(q.bitrate/tc.target-1), q.mean, q.low1, r.wall)
	}
	if tc.pass != nil {
		fmt.Printf("  dswarm against ffmpeg two-pass: mean %+.2f dB, 1%%-low %+.2f dB; against one-pass: mean %+.2f dB\n",
			qs[2].mean-qs[1].mean, qs[2].low1-qs[1].low1, qs[2].mean-qs[0].mean)
	} else {
		fmt.Printf("  dswarm against one-pass: mean %+.2f dB, 1%%-low %+.2f dB\n", qs[2].mean-qs[0].mean, qs[2].low1-qs[0].low1)
	}
	// One-pass ABR can miss its target by far (x264's on still scenes);
	// its quality is then compared at the bits it really spent.
	if miss := qs[0].bitrate/tc.target - 1; math.Abs(miss) > 0.03 {
		made := strconv.FormatInt(int64(math.Round(qs[0].bitrate/1e3)), 10) + "k"
		opts := append([]string(nil), tc.opts...)
		for i := range opts {
			if opts[i] == "-b:v" {
				opts[i+1] = made
			}
		}
		same := filepath.Join(dir, "dswarm-same.mp4")
		ms := runMeasured(b, bin, append([]string{"transcode", "--local", "-q", "--overwrite", src, "-o", same}, opts...)...)
		q := measureQuality(b, same, src)
		fmt.Printf("  %-26s %9.0f %+7.2f%% %9.2f %9.2f %8.1f\n", "dswarm at "+made, q.bitrate/1e3, 100*(q.bitrate/qs[0].bitrate-1), q.mean, q.low1, ms.wall.Seconds())
		fmt.Printf("  one-pass ABR missed its target by %+.1f%%; at the bits it spent, dswarm: mean %+.2f dB, 1%%-low %+.2f dB\n",
			100*miss, q.mean-qs[0].mean, q.low1-qs[0].low1)
	}
}

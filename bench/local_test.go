// Package bench measures dswarm against plain ffmpeg on this machine.
// Run it with `make bench`; it prints the figures and asserts nothing about
// speed (a timed assertion would only measure the machine's mood).
package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// Clip720p is the 2-minute 720p source of the speed comparison.
var Clip720p = testmedia.Spec{Name: "bench-720p-2min.mp4", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=30:d=120",
	"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=120",
	"-vf", "noise=alls=12:allf=t", // moving grain: real work for the encoder
	"-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-g", "60", "-c:a", "aac",
}}

type measure struct {
	wall, cpu time.Duration
}

func runMeasured(b *testing.B, name string, args ...string) measure {
	b.Helper()
	cmd := exec.Command(name, args...)
	out := &tail{}
	cmd.Stderr = out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, out.buf)
	}
	wall := time.Since(start)
	// The rusage of a waited-for process includes its waited-for children:
	// for dswarm, every ffmpeg and ffprobe it ran.
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return measure{wall: wall, cpu: cpu}
}

type tail struct{ buf []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 4096 {
		t.buf = t.buf[len(t.buf)-4096:]
	}
	return len(p), nil
}

// BenchmarkLocalVsFFmpeg runs plain ffmpeg and `dswarm transcode --local`
// with the same options on the same clip, alternately, and prints the ratios
// of wall time and of CPU time (user+sys of all processes).
func BenchmarkLocalVsFFmpeg(b *testing.B) {
	src := testmedia.Generate(b, Clip720p)
	dir := b.TempDir()
	bin := filepath.Join(dir, "dswarm")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/dswarm").CombinedOutput(); err != nil {
		b.Fatalf("build dswarm: %v\n%s", err, out)
	}
	rounds := 2
	if v, err := strconv.Atoi(os.Getenv("DSWARM_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	opts := []string{"-c:v", "libx264", "-preset", "veryfast"}
	var plain, ds measure
	for i := 0; i < rounds; i++ {
		runPlain := func() {
			out := filepath.Join(dir, "plain.mp4")
			m := runMeasured(b, "ffmpeg", append(append([]string{"-nostdin", "-v", "error", "-y", "-i", src}, opts...), out)...)
			plain.wall += m.wall
			plain.cpu += m.cpu
			fmt.Printf("round %d ffmpeg : wall %6.2fs cpu %6.2fs\n", i+1, m.wall.Seconds(), m.cpu.Seconds())
		}
		runDswarm := func() {
			out := filepath.Join(dir, "dswarm.mp4")
			m := runMeasured(b, bin, append([]string{"transcode", "--local", "-q", "--overwrite", src, "-o", out}, opts...)...)
			ds.wall += m.wall
			ds.cpu += m.cpu
			fmt.Printf("round %d dswarm : wall %6.2fs cpu %6.2fs\n", i+1, m.wall.Seconds(), m.cpu.Seconds())
		}
		// Alternate which goes first, so drift in the machine's state
		// (caches, other load) falls on both.
		if i%2 == 0 {
			runPlain()
			runDswarm()
		} else {
			runDswarm()
			runPlain()
		}
	}
	wallRatio := ds.wall.Seconds() / plain.wall.Seconds()
	cpuRatio := ds.cpu.Seconds() / plain.cpu.Seconds()
	fmt.Printf("dswarm --local vs ffmpeg, %d rounds, 2 min 720p, %v\n", rounds, opts)
	fmt.Printf("wall time ratio: %.3f (target <= 1.10)\n", wallRatio)
	fmt.Printf("cpu time ratio:  %.3f (target <= 1.05)\n", cpuRatio)
	b.ReportMetric(wallRatio, "wall-ratio")
	b.ReportMetric(cpuRatio, "cpu-ratio")
}

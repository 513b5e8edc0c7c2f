//go:build swarmbench

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// Clip720p60s is the source of the swarm comparison: 60 s of 720p testsrc2
// and a tone, keyframes every 2 s.
var Clip720p60s = testmedia.Spec{Name: "bench-720p-60s.mp4", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=60",
	"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=60",
	"-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-g", "50", "-c:a", "aac",
}}

// BenchmarkSwarm measures the swarm executor against plain ffmpeg with the
// same options, side by side in one run, on the test swarm that make
// bench-swarm brings up with DSWARM_NODE_CPUSETS="0 1 0-1": node1 may run
// only on CPU 0, node2 only on CPU 1, node3 on both. Nodes a case does not
// use are drained; every dswarm run starts from the same node speeds (equal
// weights, no speeds.json), and dswarm itself runs on the CPUs its nodes
// have, so probe, merge and verify count against it as they would on a
// machine of that size. The wall times are whole jobs: analysis, segments,
// the audio task, the merge and the verification.
//
//   - overhead: one node on CPU 0 against `taskset -c 0 ffmpeg` (target <= 1.08)
//   - scaling efficiency: T(ffmpeg on CPU 0) / (2 x T(two nodes, one CPU
//     each)) (target >= 0.90)
//   - the ceiling of that efficiency here: the clip's two halves encoded by
//     two plain ffmpeg side by side, one per CPU
//   - one node on both CPUs (node3) against ffmpeg on both CPUs
//   - two nodes against ffmpeg on both CPUs
//
// DSWARM_BENCH_PRESETS (default "veryfast medium"), DSWARM_BENCH_ROUNDS
// (default 1), DSWARM_BIN (default bin/dswarm) choose what runs.
func BenchmarkSwarm(b *testing.B) {
	storage := os.Getenv("DSWARM_STORAGE_HOST")
	nodes := strings.Fields(os.Getenv("DSWARM_NODES"))
	if storage == "" || len(nodes) != 3 {
		b.Fatal("no test swarm: make bench-swarm brings one up (. .cluster/env for a running one)")
	}
	bin, _ := filepath.Abs("../bin/dswarm")
	if v := os.Getenv("DSWARM_BIN"); v != "" {
		bin = v
	}
	src := filepath.Join(storage, "upload", Clip720p60s.Name)
	if err := copyFile(testmedia.Generate(b, Clip720p60s), src); err != nil {
		b.Fatal(err)
	}
	presets := strings.Fields(os.Getenv("DSWARM_BENCH_PRESETS"))
	if len(presets) == 0 {
		presets = []string{"veryfast", "medium"}
	}
	rounds := 1
	if v, err := strconv.Atoi(os.Getenv("DSWARM_BENCH_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	for _, n := range nodes {
		docker(b, "node", "update", "--label-add", "dswarm.weight=1", n)
	}
	b.Cleanup(func() {
		for i, n := range nodes {
			_ = exec.Command("docker", "node", "update", "--availability", "active", "--label-add", "dswarm.weight="+[]string{"48", "36", "12"}[i], n).Run()
		}
	})
	only := func(use ...string) {
		for _, n := range nodes {
			avail := "drain"
			for _, u := range use {
				if u == n {
					avail = "active"
				}
			}
			docker(b, "node", "update", "--availability", avail, n)
		}
	}

	// CPU time the nodes a case uses spent (their engines and tasks), from
	// their cgroups: a figure the other work on a shared machine moves less
	// than wall time.
	nodeCPU := func(use []string) time.Duration {
		var sum time.Duration
		for _, n := range use {
			cmd := exec.Command("docker", "inspect", "-f", "{{.Id}}", n)
			cmd.Env = hostEnv()
			id, err := cmd.Output()
			if err != nil {
				b.Fatalf("docker inspect %s: %v", n, err)
			}
			u, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/cpuacct/docker", strings.TrimSpace(string(id)), "cpuacct.usage"))
			if err != nil {
				return -1 // not cgroup v1 with cgroupfs: no CPU figures
			}
			ns, _ := strconv.ParseInt(strings.TrimSpace(string(u)), 10, 64)
			sum += time.Duration(ns)
		}
		return sum
	}

	out := filepath.Join(storage, "download")
	for _, preset := range presets {
		opts := []string{"-c:v", "libx264", "-preset", preset, "-c:a", "aac"}
		var cpuPlain, cpuSwarm time.Duration // summed over the one-node cases
		plain := func(cpus string) float64 {
			args := append([]string{"-c", cpus, "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src}, opts...)
			wall, cpu := timed(b, "taskset", append(args, filepath.Join(out, "plain.mp4"))...)
			fmt.Printf("  taskset -c %-3s ffmpeg %16s %7.2fs  cpu %6.2fs\n", cpus, "", wall.Seconds(), cpu.Seconds())
			if cpus == "0" {
				cpuPlain += cpu
			}
			return wall.Seconds()
		}
		swarm := func(cpus string, use ...string) float64 {
			only(use...)
			if err := os.Remove(filepath.Join(storage, "speeds.json")); err != nil && !os.IsNotExist(err) {
				b.Fatal(err)
			}
			dst := filepath.Join(out, "dswarm.mp4")
			args := append([]string{"-c", cpus, bin, "transcode", "--swarm", "--json", "-q", "--overwrite", src, "-o", dst}, opts...)
			cpu0 := nodeCPU(use)
			start := time.Now()
			cmd := exec.Command("taskset", args...)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := runGrouped(cmd); err != nil {
				// The job's own error, as dswarm printed it.
				b.Fatalf("dswarm on %v (%s): %v\n%s", use, preset, err, stderr.String())
			}
			wall := time.Since(start).Seconds()
			// Its own CPU (probe, preflight, verify) and the nodes'.
			own := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
			cpu := own + nodeCPU(use) - cpu0
			if len(use) == 1 && use[0] == nodes[0] {
				cpuSwarm += cpu
			}
			var sum job.Summary
			if err := json.Unmarshal([]byte(stdout.String()), &sum); err != nil {
				b.Fatalf("summary of dswarm on %v: %v\n%s", use, err, stdout.String())
			}
			busy := 0.0
			for _, s := range sum.SegmentTimings {
				busy += s.Seconds
			}
			line := fmt.Sprintf("  dswarm on %-27s %7.2fs  cpu %6.2fs (%.2fs on this machine)  %d segments (%.1fs each in tasks)", strings.Join(use, "+"), wall, cpu.Seconds(), own.Seconds(), sum.Segments, busy/float64(max(sum.Segments, 1)))
			if sum.AudioTask != nil {
				line += fmt.Sprintf(", audio %.1fs", sum.AudioTask.Seconds)
			}
			if sum.MergeTask != nil {
				line += fmt.Sprintf(", merge %.1fs", sum.MergeTask.Seconds)
			}
			fmt.Println(line)
			// Outside the job's phases: connecting, the nodes' image
			// checks (a task per node every stack.ImageMaxAge), staging,
			// and the removal of the job's services at its end.
			phases := sum.Phases.Prepare + sum.Phases.Encode + sum.Phases.Merge + sum.Phases.Verify
			fmt.Printf("  %-36s prepare %.2fs, encode %.2fs (first task at %.2fs), merge %.2fs, verify %.2fs, outside the job %.2fs\n", "",
				sum.Phases.Prepare, sum.Phases.Encode, firstBegan(sum), sum.Phases.Merge, sum.Phases.Verify, wall-phases)
			return wall
		}
		// halves is the best any split can do on this machine: the two
		// halves of the clip encoded by two plain ffmpeg side by side, one
		// on each CPU, with no start-up, merge or verification. The two
		// CPUs are not independent here (they slow each other when both
		// are busy), so this is the scaling efficiency's real ceiling.
		halves := func() float64 {
			half := func(cpu string, cut ...string) *exec.Cmd {
				args := append([]string{"-c", cpu, "ffmpeg", "-nostdin", "-v", "error", "-y"}, cut...)
				args = append(append(append(args, "-i", src), opts...), filepath.Join(out, "half"+cpu+".mp4"))
				return exec.Command("taskset", args...)
			}
			a, c := half("0", "-t", "30"), half("1", "-ss", "30")
			start := time.Now()
			errc := make(chan error, 1)
			go func() { errc <- runGrouped(a) }()
			if err := runGrouped(c); err != nil {
				b.Fatalf("ffmpeg, second half: %v", err)
			}
			if err := <-errc; err != nil {
				b.Fatalf("ffmpeg, first half: %v", err)
			}
			wall := time.Since(start)
			fmt.Printf("  two halves, ffmpeg on CPU 0 and 1 %7.2fs\n", wall.Seconds())
			return wall.Seconds()
		}
		var p1, s1, s2, p2, s3, h2 float64
		for r := 0; r < rounds; r++ {
			fmt.Printf("libx264 %s, 60 s 720p, round %d:\n", preset, r+1)
			p1 += plain("0")
			s1 += swarm("0", nodes[0])
			s2 += swarm("0,1", nodes[0], nodes[1])
			h2 += halves()
			p2 += plain("0,1")
			s3 += swarm("0,1", nodes[2])
		}
		fmt.Printf("libx264 %s: one node on one CPU / taskset -c 0 ffmpeg:       %.3f (target <= 1.08)\n", preset, s1/p1)
		fmt.Printf("libx264 %s: scaling efficiency T1 / (2 x T2), two nodes:     %.3f (target >= 0.90)\n", preset, p1/(2*s2))
		fmt.Printf("libx264 %s: the same for two plain ffmpeg halves side by side: %.3f (this machine's ceiling)\n", preset, p1/(2*h2))
		fmt.Printf("libx264 %s: one node on both CPUs / ffmpeg on both CPUs:      %.3f\n", preset, s3/p2)
		fmt.Printf("libx264 %s: two nodes, one CPU each / ffmpeg on both CPUs:    %.3f\n", preset, s2/p2)
		if cpuSwarm > 0 {
			fmt.Printf("libx264 %s: CPU time, one node on one CPU / taskset -c 0 ffmpeg: %.3f\n", preset, cpuSwarm.Seconds()/cpuPlain.Seconds())
		}
		b.ReportMetric(s1/p1, preset+"-overhead")
		b.ReportMetric(p1/(2*s2), preset+"-efficiency")
	}
}

// firstBegan is when a job's first segment task began, in seconds after
// the job's start.
func firstBegan(sum job.Summary) float64 {
	first := sum.WallSeconds
	for _, s := range sum.SegmentTimings {
		first = min(first, s.Began)
	}
	return first
}

// timed runs a command and returns its wall and CPU time.
func timed(b *testing.B, name string, args ...string) (wall, cpu time.Duration) {
	b.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := runGrouped(cmd); err != nil {
		b.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// benchGroup is a cgroup v1 CPU group for the processes the bench starts.
// The node containers' tasks share one group (/docker) that the kernel
// weighs as one entity against every process in the root group, while a
// plain process in the root group is weighed thread by thread: where other
// work runs on the machine, plain ffmpeg's threads would get more of a CPU
// than a task's. In a group of their own, both get the same share.
const benchGroup = "/sys/fs/cgroup/cpu/dswarm-bench"

// runGrouped runs cmd in benchGroup (where there is a cgroup v1 CPU
// controller; else as it is).
func runGrouped(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := os.MkdirAll(benchGroup, 0o755); err == nil {
		_ = os.WriteFile(filepath.Join(benchGroup, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
	}
	return cmd.Wait()
}

// hostEnv is the environment for docker commands on this machine's engine
// (the one that runs the node containers), not the swarm's manager.
func hostEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DOCKER_HOST=") {
			env = append(env, e)
		}
	}
	return env
}

func docker(b *testing.B, args ...string) {
	b.Helper()
	if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
		b.Fatalf("docker %v: %v\n%s", args, err, out)
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

//go:build e2e

package e2e

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTasksStayOnTheirCPUs: a node container started with --cpuset-cpus
// (make e2e sets DSWARM_NODE_CPUSETS: node3 on CPU 1) confines the tasks
// its engine runs, not only its own processes. A busy encode with four
// threads is placed on a node pinned to one CPU, and every
// one of its threads is sampled from this machine's /proc (field 39 of
// stat, the CPU it last ran on) for a few seconds: none may run elsewhere,
// and the task's own cgroup must hold the node's set.
func TestTasksStayOnTheirCPUs(t *testing.T) {
	node, set := pinnedNode(t)
	t.Logf("%s is pinned to CPU %s", node, set)
	allowed := cpuList(t, set)

	name := "dswarm-cpuset-check"
	_ = exec.Command("docker", "service", "rm", name).Run()
	out, err := exec.Command("docker", "service", "create", "--detach", "--name", name,
		"--constraint", "node.hostname=="+node, "--restart-condition", "none", "--no-resolve-image",
		os.Getenv("DSWARM_IMAGE"),
		"ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
		"-t", "120", "-c:v", "libx264", "-preset", "medium", "-threads", "4", "-f", "null", "-").CombinedOutput()
	require.NoError(t, err, string(out))
	t.Cleanup(func() { _ = exec.Command("docker", "service", "rm", name).Run() })

	var cid string
	deadline := time.Now().Add(90 * time.Second)
	for cid == "" {
		require.True(t, time.Now().Before(deadline), "the task's container did not start on %s", node)
		time.Sleep(200 * time.Millisecond)
		cid = hostDocker(t, "exec", node, "docker", "ps", "-q", "--no-trunc", "--filter", "label=com.docker.swarm.service.name="+name)
	}
	dir := cgroupOf(t, "/sys/fs/cgroup/cpuset", cid)
	cgCPUs := readTrim(t, filepath.Join(dir, "cpuset.effective_cpus"))
	t.Logf("task container %.12s: cgroup %s, cpuset.effective_cpus %s", cid, dir, cgCPUs)
	assert.Equal(t, allowed, cpuList(t, cgCPUs), "the task's cgroup holds the node's CPUs")

	// Let the encoder start its threads, then sample them.
	time.Sleep(2 * time.Second)
	seen := map[int]int{}
	samples := 0
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		for _, tid := range strings.Fields(readTrim(t, filepath.Join(dir, "tasks"))) {
			b, err := os.ReadFile("/proc/" + tid + "/stat")
			if err != nil {
				continue // the thread ended
			}
			// The command name (field 2) may hold spaces: count after its ')'.
			f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
			if len(f) < 37 {
				continue
			}
			cpu, err := strconv.Atoi(f[36]) // field 39 counted from 1
			require.NoError(t, err)
			seen[cpu]++
			samples++
			if samples == 1 {
				status, _ := os.ReadFile("/proc/" + tid + "/status")
				for _, l := range strings.Split(string(status), "\n") {
					if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
						assert.Equal(t, allowed, cpuList(t, strings.TrimSpace(v)), "Cpus_allowed_list of thread %s", tid)
					}
				}
			}
		}
	}
	t.Logf("%d samples of the task's threads by CPU: %v", samples, seen)
	require.Greater(t, samples, 100, "the task's threads were sampled")
	for cpu, n := range seen {
		assert.True(t, allowed[cpu], "a thread of the task on %s (CPUs %s) ran on CPU %d (%d samples)", node, set, cpu, n)
	}
}

// pinnedNode is the first node container whose cpuset is one CPU.
func pinnedNode(t *testing.T) (node, set string) {
	t.Helper()
	for _, n := range strings.Fields(os.Getenv("DSWARM_NODES")) {
		set := hostDocker(t, "inspect", "-f", "{{.HostConfig.CpusetCpus}}", n)
		if set != "" && !strings.ContainsAny(set, ",-") {
			return n, set
		}
	}
	t.Fatalf("no node of %q is pinned to one CPU: bring the cluster up with DSWARM_NODE_CPUSETS (make e2e sets \"0-1 0-1 1\")", os.Getenv("DSWARM_NODES"))
	return "", ""
}

// cgroupOf finds the cgroup folder named after a container under root.
func cgroupOf(t *testing.T, root, cid string) string {
	t.Helper()
	var found string
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if d.Name() == cid || strings.HasSuffix(d.Name(), cid+".scope") {
			found = p
			return filepath.SkipAll
		}
		return nil
	})
	require.NotEmpty(t, found, "no cgroup of container %s under %s", cid, root)
	return found
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

// cpuList parses a kernel CPU list such as "0-2,5".
func cpuList(t *testing.T, s string) map[int]bool {
	t.Helper()
	out := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		require.NoError(t, err, "cpu list %q", s)
		b := a
		if isRange {
			b, err = strconv.Atoi(hi)
			require.NoError(t, err, "cpu list %q", s)
		}
		for c := a; c <= b; c++ {
			out[c] = true
		}
	}
	return out
}

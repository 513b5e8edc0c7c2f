//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

// probeScript tries, from inside a task, everything a hijacked ffmpeg would
// try, and prints one "name=ok|refused: reason" line per attempt.
const probeScript = `
ROOT=$1 JOBDIR=$2 INPUT=$3 OTHER=$4 NODE_IP=$5
try() { name=$1; shift; if out=$("$@" 2>&1); then echo "$name=ok"; else echo "$name=refused: $(echo $out | tail -c 120)"; fi; }
echo "uid=$(id -u):$(id -g)"
echo "capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)"
echo "defroutes=$(awk '$2 == "00000000"' /proc/net/route | wc -l)"
try net-docker-api timeout 5 bash -c 'exec 3<>/dev/tcp/$0/2375' "$NODE_IP"
try net-swarm timeout 5 bash -c 'exec 3<>/dev/tcp/$0/2377' "$NODE_IP"
try net-internet timeout 5 bash -c 'exec 3<>/dev/tcp/1.1.1.1/53'
try write-root touch /dswarm-planted
try write-etc touch /etc/dswarm-planted
try write-storage-root touch "$ROOT/planted"
try write-upload touch "$ROOT/upload/planted"
try overwrite-input sh -c 'echo x >>"$0"' "$INPUT"
try write-other-job touch "$ROOT/tmp/$OTHER/planted"
try write-download touch "$ROOT/download/planted"
try write-tmp touch /tmp/scratch
try write-own-job touch "$JOBDIR/segment.nut"
try read-input head -c 4 "$INPUT"
`

// TestTaskLockdown runs a task built exactly as a job's tasks are (the same
// spec and mounts) and checks from inside it that it has no way out (no
// default route; the manager's Docker API and swarm port, and the internet,
// unreachable), no capabilities, no root, a read-only root filesystem, a
// read-only upload/ and other jobs' folders, and a writable folder of its
// own. The host side
// makes upload/ and the other job's folder world-writable first, so that
// only the mounts can be what refuses.
func TestTaskLockdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli, err := stack.Connect(ctx)
	require.NoError(t, err)
	defer cli.Close()
	all, err := stack.Nodes(ctx, cli)
	require.NoError(t, err)
	// Every node a job may use: not the aarch64 node while it is drained.
	nodes, skipped := scheduler.Active(all)
	require.Len(t, nodes, 3, "skipped: %v", skipped)
	nodeRoot := os.Getenv("DSWARM_STORAGE")
	if nodeRoot == "" {
		nodeRoot = nfs.DefaultHostPath
	}
	layout := nfs.Layout{Root: storage}
	id := job.NewJobID()
	jobDir := filepath.Join(layout.Tmp(), ".dswarm-"+id)
	other := ".dswarm-other-" + id
	require.NoError(t, os.MkdirAll(jobDir, 0o755))
	script := filepath.Join(jobDir, "probe.sh")
	require.NoError(t, os.WriteFile(script, []byte(probeScript), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(layout.Tmp(), other), 0o777))
	require.NoError(t, os.Chmod(filepath.Join(layout.Tmp(), other), 0o777))
	input := filepath.Join(layout.Upload(), id+"-in.mkv")
	require.NoError(t, os.WriteFile(input, []byte("fake input"), 0o600)) // as an API upload arrives
	require.NoError(t, os.Chmod(input, 0o600))
	st, err := os.Stat(layout.Upload())
	require.NoError(t, err)
	require.NoError(t, os.Chmod(layout.Upload(), 0o777))
	t.Cleanup(func() {
		os.Chmod(layout.Upload(), st.Mode().Perm())
		os.RemoveAll(jobDir)
		os.RemoveAll(filepath.Join(layout.Tmp(), other))
		os.Remove(input)
		os.Remove(filepath.Join(layout.Upload(), "planted"))
		_ = stack.RemoveJob(context.Background(), cli, id)
	})

	nodeIP := strings.TrimSpace(hostDocker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "dswarm-node1"))
	for _, n := range nodes {
		t.Run(n.Hostname, func(t *testing.T) {
			x := &stack.Executor{
				Engine: cli, Image: workerImage(), Nodes: []scheduler.Node{n},
				Mounts:   []mount.Mount{{Type: mount.TypeBind, Source: nodeRoot, Target: nodeRoot}},
				HostRoot: storage, NodeRoot: nodeRoot,
			}
			require.NoError(t, x.Confine(input, jobDir, ""))
			toNode := func(p string) string { return nodeRoot + strings.TrimPrefix(p, storage) }
			res, err := x.Run(ctx, job.Task{JobID: id, Name: "lockdown-" + n.Hostname, Role: "check", Segment: -1, Attempt: 1,
				Program: "sh", Args: []string{toNode(script), nodeRoot, toNode(jobDir), toNode(input), other, nodeIP}, CaptureOutput: true})
			require.NoError(t, err)
			got := map[string]string{}
			for _, l := range res.Output {
				if k, v, ok := strings.Cut(l, "="); ok {
					got[k] = v
				}
			}
			t.Logf("%s: %v", n.Hostname, got)
			assert.Equal(t, stack.TaskUser, got["uid"], "not root")
			assert.Equal(t, "0000000000000000", got["capeff"], "no capabilities")
			assert.Equal(t, "0", got["defroutes"], "no default route: the isolated network is internal")
			for _, k := range []string{"net-docker-api", "net-swarm", "net-internet", "write-root", "write-etc", "write-storage-root",
				"write-upload", "overwrite-input", "write-other-job", "write-download"} {
				assert.True(t, strings.HasPrefix(got[k], "refused"), "%s: %q", k, got[k])
			}
			for _, k := range []string{"write-tmp", "write-own-job", "read-input"} {
				assert.Equal(t, "ok", got[k], k)
			}
		})
	}
	internal := hostDocker(t, "exec", "dswarm-node1", "docker", "network", "inspect", "-f", "{{.Internal}} {{.Driver}}", stack.IsolatedNetwork)
	assert.Equal(t, "true overlay", internal)
	assert.NoFileExists(t, filepath.Join(layout.Upload(), "planted"))
	assert.NoFileExists(t, filepath.Join(layout.Tmp(), other, "planted"))
	assert.FileExists(t, filepath.Join(jobDir, "segment.nut"))
	assertNoServices(t)
}

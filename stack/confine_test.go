package stack

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/docker/docker/api/types/mount"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
)

func TestTaskMountsConfined(t *testing.T) {
	root := t.TempDir()
	x := &Executor{
		HostRoot: root, NodeRoot: "/srv/dswarm", User: "1234:1234",
		Mounts: []mount.Mount{{Type: mount.TypeBind, Source: "/mnt/nas", Target: "/srv/dswarm"}},
	}
	work := filepath.Join(root, "tmp", ".dswarm-j1")
	partial := filepath.Join(root, "download", ".dswarm-j1-out.mkv")
	require.NoError(t, os.MkdirAll(work, 0o755))
	require.NoError(t, os.MkdirAll(filepath.Dir(partial), 0o755))
	require.NoError(t, os.WriteFile(partial, nil, 0o644))
	require.NoError(t, x.Confine("", work, partial))

	seg, err := x.taskMounts(job.Task{Name: "seg-000", Role: job.RoleSegment})
	require.NoError(t, err)
	assert.Equal(t, []mount.Mount{
		{Type: mount.TypeBind, Source: "/mnt/nas", Target: "/srv/dswarm", ReadOnly: true},
		{Type: mount.TypeBind, Source: "/mnt/nas/tmp/.dswarm-j1", Target: "/srv/dswarm/tmp/.dswarm-j1"},
	}, seg, "a segment writes only the job's folder")
	merge, err := x.taskMounts(job.Task{Name: "merge", Role: job.RoleMerge})
	require.NoError(t, err)
	require.Len(t, merge, 3)
	assert.Equal(t, mount.Mount{Type: mount.TypeBind, Source: "/mnt/nas/download/.dswarm-j1-out.mkv",
		Target: "/srv/dswarm/download/.dswarm-j1-out.mkv"}, merge[2], "the merge also writes its one output file")

	if os.Geteuid() == 0 {
		for _, p := range []string{work, partial} {
			st, err := os.Stat(p)
			require.NoError(t, err)
			assert.Equal(t, uint32(1234), st.Sys().(*syscall.Stat_t).Uid, "%s handed to the task user", p)
		}
	}

	unconfined, err := (&Executor{NodeRoot: "/srv/dswarm", Mounts: x.Mounts}).taskMounts(job.Task{Role: job.RoleSegment})
	require.NoError(t, err)
	assert.Equal(t, []mount.Mount{{Type: mount.TypeBind, Source: "/mnt/nas", Target: "/srv/dswarm", ReadOnly: true}}, unconfined,
		"without Confine nothing is writable")
}

func TestConfineRefusesPathsOutsideStorage(t *testing.T) {
	root := t.TempDir()
	x := &Executor{HostRoot: root, NodeRoot: "/srv/dswarm", User: "1234:1234"}
	assert.Error(t, x.Confine("", t.TempDir(), ""), "a work folder off the storage")
	assert.Error(t, x.Confine("", filepath.Join(root, "tmp", "j"), "/etc/passwd"))
	assert.Error(t, (&Executor{User: "root"}).Confine("", "", ""), "names are refused: they differ between image and node")
}

func TestConfineMakesOwnUploadsReadable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root changes the input's mode")
	}
	root := t.TempDir()
	x := &Executor{HostRoot: root, NodeRoot: "/srv/dswarm", User: "1234:1234"}
	up := filepath.Join(root, "upload", "in.mp4")
	require.NoError(t, os.MkdirAll(filepath.Dir(up), 0o755))
	require.NoError(t, os.WriteFile(up, []byte("x"), 0o600))
	require.NoError(t, x.Confine(up, "", ""))
	st, err := os.Stat(up)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "an upload arrives owner-only; tasks must read it")

	mine := filepath.Join(root, "elsewhere.mp4")
	require.NoError(t, os.WriteFile(mine, []byte("x"), 0o600))
	assert.ErrorContains(t, x.Confine(mine, "", ""), "not readable by the tasks' user")
	st, err = os.Stat(mine)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "a user's own file is not chmodded")
}

func TestTaskUser(t *testing.T) {
	if os.Geteuid() == 0 {
		assert.Equal(t, TaskUser, (&Executor{}).taskUser(), "root's tasks run as 65534")
	} else {
		assert.NotEqual(t, "0:0", (&Executor{}).taskUser())
	}
	uid, gid, err := TaskIDs("1000:100")
	require.NoError(t, err)
	assert.Equal(t, [2]int{1000, 100}, [2]int{uid, gid})
	_, _, err = TaskIDs("0:0")
	assert.Error(t, err, "never root")
}

package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/mount"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
)

var _ job.Confiner = (*Executor)(nil)

// taskUser is the uid:gid tasks run as: x.User, else TaskUser when this
// process is root, else this process's own ids (already unprivileged, and
// the owner of the job's files).
func (x *Executor) taskUser() string {
	if x.User != "" {
		return x.User
	}
	if os.Geteuid() == 0 {
		return TaskUser
	}
	return fmt.Sprintf("%d:%d", os.Geteuid(), os.Getegid())
}

// TaskIDs is the numeric uid and gid of user ("uid:gid" or "uid").
func TaskIDs(user string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(user, ":")
	if !ok {
		g = u
	}
	if uid, err = strconv.Atoi(u); err == nil {
		gid, err = strconv.Atoi(g)
	}
	if err != nil || uid < 0 || gid < 0 {
		return 0, 0, fmt.Errorf("task user %q: want numeric uid:gid (names differ between the image and the nodes)", user)
	}
	if uid == 0 {
		return 0, 0, fmt.Errorf("task user %q: tasks never run as root", user)
	}
	return uid, gid, nil
}

// UserIDs implements job.Confiner.
func (x *Executor) UserIDs() (uid, gid int, err error) { return TaskIDs(x.taskUser()) }

// Confine implements job.Confiner: tasks of this job may write only workDir
// and (the merge) partial, both inside the shared storage. When this process
// is root it hands them to the task user, and makes an input that dswarm
// staged in upload/ readable by it; a user's input elsewhere that the task
// user cannot read is an error, not a chmod.
func (x *Executor) Confine(input, workDir, partial string) error {
	uid, gid, err := x.UserIDs()
	if err != nil {
		return err
	}
	rel := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		r, err := filepath.Rel(x.HostRoot, p)
		if x.HostRoot == "" || err != nil || !filepath.IsLocal(r) {
			return "", fmt.Errorf("%s is outside the shared storage %s: tasks could not write it", p, x.HostRoot)
		}
		return r, nil
	}
	dir, err := rel(workDir)
	if err != nil {
		return err
	}
	file, err := rel(partial)
	if err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		for _, p := range []string{workDir, partial} {
			if p == "" {
				continue
			}
			// On an NFS export with root_squash this fails (root is nobody
			// there already, and owns what it made): the task's own write
			// then tells.
			_ = os.Lchown(p, uid, gid)
		}
		if input != "" {
			if err := x.readable(input); err != nil {
				return err
			}
		}
	}
	if workDir != "" {
		removeGates(workDir)
	}
	x.mu.Lock()
	x.workDir, x.partial = dir, file
	x.mu.Unlock()
	return nil
}

// readable makes sure the task user can read input (this process is root).
func (x *Executor) readable(input string) error {
	st, err := os.Stat(input)
	if err != nil {
		return fmt.Errorf("input %s: %w", input, err)
	}
	if st.Mode().Perm()&0o004 != 0 {
		return nil
	}
	upload := filepath.Join(x.HostRoot, nfs.UploadDir)
	if r, err := filepath.Rel(upload, input); err == nil && filepath.IsLocal(r) {
		// dswarm's own staging area: uploads arrive owner-only.
		return os.Chmod(input, st.Mode().Perm()|0o044)
	}
	return fmt.Errorf("input %s (mode %04o) is not readable by the tasks' user %s; make it world-readable", input, st.Mode().Perm(), x.taskUser())
}

// taskMounts are the mounts of one task: the shared storage read-only, the
// job's work folder writable, and for the merge its partial output too.
// Without Confine (checks that only read, like `dswarm nodes`), the storage
// is read-only throughout.
func (x *Executor) taskMounts(t job.Task) ([]mount.Mount, error) {
	root := -1
	for i, m := range x.Mounts {
		if m.Target == x.NodeRoot {
			root = i
		}
	}
	if root < 0 {
		return x.Mounts, nil
	}
	x.mu.Lock()
	var dirs, files []string
	if x.workDir != "" {
		dirs = append(dirs, x.workDir)
	}
	if x.partial != "" && t.Role == job.RoleMerge {
		files = append(files, x.partial)
	}
	x.mu.Unlock()
	confined, err := nfs.Confined(x.Mounts[root], dirs, files)
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", t.Name, err)
	}
	out := append([]mount.Mount(nil), x.Mounts[:root]...)
	out = append(out, confined...)
	return append(out, x.Mounts[root+1:]...), nil
}

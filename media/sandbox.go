package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Sandbox runs the ffmpeg and ffprobe calls that carry a user's options in
// the process that drives a job (the preflight, the subtitle check): with
// `dswarm serve` that process holds the Docker socket, and a parser bug that
// let an option name a file would otherwise write or read it as root.
//
// Why a child process and not a one-shot task on the swarm: the preflight
// must answer in under a second, and a task costs service creation, a
// container start and a log read (1.5 s or more), on every submit. A
// child process of another user gets the same file boundaries:
//
//   - it runs as an unprivileged uid:gid with no supplementary groups (when
//     this process is root): the Docker socket (root:docker, 0660), the
//     secrets under /run/secrets (0400) and root's files are closed to it;
//   - its working directory and HOME are an empty scratch folder, owned by
//     it, where its output goes; the job's folders on the storage are not
//     writable to it;
//   - its environment is only PATH, HOME and LC_ALL: no token, no DOCKER_HOST;
//   - the input it reads is the one the swarm tasks read as the same user.
//
// What it does not close: world-writable folders (/tmp, /dev/shm) and
// world-readable files stay open to it, as to any local user; a network
// namespace needs privileges the scheduler's container does not have.
//
// When this process is not root (`dswarm transcode --local` as an ordinary
// user) there is no other user to switch to: only the scratch folder and the
// clean environment apply, and the preflight runs with the user's own rights,
// as the segments' ffmpeg does anyway.
type Sandbox struct {
	// Dir is the scratch folder: the tools' working directory and the only
	// place meant for their output (see Path).
	Dir  string
	cred *syscall.Credential
}

// NewSandbox makes a scratch folder. When this process is root, tools run
// as uid:gid (which must not be root) and the folder is theirs; a negative
// uid, or a non-root process, keeps the tools under this process's user.
func NewSandbox(uid, gid int) (*Sandbox, error) {
	dir, err := os.MkdirTemp("", "dswarm-sandbox-")
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	s := &Sandbox{Dir: dir}
	if uid >= 0 && os.Geteuid() == 0 {
		if uid == 0 || gid == 0 {
			os.RemoveAll(dir)
			return nil, errors.New("sandbox: refusing to run tools as root")
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	return s, nil
}

// Close removes the scratch folder and what the tools left in it.
func (s *Sandbox) Close() error { return os.RemoveAll(s.Dir) }

// Path is the path of name inside the scratch folder.
func (s *Sandbox) Path(name string) string { return filepath.Join(s.Dir, filepath.Base(name)) }

// Dropped reports whether tools run as another, unprivileged user.
func (s *Sandbox) Dropped() bool { return s != nil && s.cred != nil }

// command is tool with args, confined as described on Sandbox. A nil
// Sandbox runs it as an ordinary child process.
func (s *Sandbox) command(ctx context.Context, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, tool, args...)
	if s == nil {
		return cmd
	}
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + s.Dir, "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// FFmpeg is RunFFmpegLog run in the sandbox: ffmpeg with args (and
// FFmpegArgs' own), its -progress reports to onProgress when that is not
// nil; it returns ffmpeg's last lines. What it writes outside s.Dir must be
// the sandbox user's (see Give).
func (s *Sandbox) FFmpeg(ctx context.Context, args []string, onProgress func(Progress)) ([]string, error) {
	full := FFmpegArgs(args)
	if onProgress != nil {
		full = append([]string{"-progress", "pipe:1"}, full...)
	}
	cmd := s.command(ctx, "ffmpeg", full...)
	tail := &tailWriter{max: 20}
	cmd.Stderr = tail
	var wg sync.WaitGroup
	if onProgress != nil {
		out, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ParseProgress(out, onProgress)
		}()
	}
	if err := cmd.Start(); err != nil {
		return nil, toolError(ctx, "ffmpeg", err, tail)
	}
	wg.Wait()
	if err := cmd.Wait(); err != nil {
		return nil, toolError(ctx, "ffmpeg", err, tail)
	}
	return tail.all(), nil
}

// Give hands path, a file the sandbox's tools are to write, to the
// sandbox's user (nothing to do when they run as this process's).
func (s *Sandbox) Give(path string) error {
	if !s.Dropped() {
		return nil
	}
	if err := os.Lchown(path, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

// Probe is media.Probe run in the sandbox: for files the user's options
// made (the preflight's output).
func (s *Sandbox) Probe(ctx context.Context, path string) (*Info, error) {
	cmd := s.command(ctx, "ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", "--", path)
	var stdout bytes.Buffer
	tail := &tailWriter{max: 20}
	cmd.Stdout, cmd.Stderr = &stdout, tail
	if err := cmd.Run(); err != nil {
		err := toolError(ctx, "ffprobe", err, tail)
		var te *ToolError
		if errors.As(err, &te) {
			te.LastLine = strings.ReplaceAll(te.LastLine, path+": ", "")
		}
		return nil, err
	}
	info, err := ParseProbe(stdout.Bytes())
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", path, err)
	}
	info.Path = path
	return info, nil
}

// CheckReadable tells whether the sandbox's user can read path (through
// every folder on the way), so that a refusal is named as such rather than
// as ffmpeg's "Permission denied" on an option.
func (s *Sandbox) CheckReadable(ctx context.Context, path string) error {
	if !s.Dropped() {
		return nil
	}
	if err := s.command(ctx, "test", "-r", path).Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s is not readable by uid %d, which runs ffmpeg with your options: make it and its folders readable by others", path, s.cred.Uid)
	}
	return nil
}

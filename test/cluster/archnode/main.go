//go:build linux && amd64

// Command archnode runs a program (dockerd) that believes the machine is
// aarch64: its uname(2) answers "aarch64" as the machine, while everything
// else, and every process it does not start itself, is native. It is the
// test cluster's way to a Swarm node that reports
// node.platform.arch == aarch64 at native speed, with overlay networks
// working (ENVIRONMENT.md, "Foreign architectures", recipe 2).
//
//	archnode PROGRAM ARGS...
//
// How: archnode starts itself again as a child, which installs a seccomp
// filter that turns uname into a user notification, hands the listener to
// archnode over a socket pair and execs PROGRAM (the filter is kept across
// exec and inherited by PROGRAM's own children). archnode answers each
// uname by writing the real utsname, machine changed, into the caller's
// memory. Start containerd outside it (dockerd --containerd=...): task
// containers are containerd's children, and must see the real machine.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const childEnv = "ARCHNODE_CHILD"

// machine is what uname answers.
var machine = envOr("ARCHNODE_MACHINE", "aarch64")

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: archnode PROGRAM ARGS...")
		os.Exit(2)
	}
	if os.Getenv(childEnv) == "1" {
		child()
		return
	}
	os.Exit(parent())
}

// seccompNotif and seccompResp are the kernel's struct seccomp_notif and
// struct seccomp_notif_resp (include/uapi/linux/seccomp.h).
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

func parent() int {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "archnode: socketpair:", err)
		return 1
	}
	self, _ := os.Executable()
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.ExtraFiles = []*os.File{os.NewFile(uintptr(fds[1]), "archnode-sock")} // fd 3 in the child
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "archnode:", err)
		return 1
	}
	unix.Close(fds[1])
	listener, err := receiveFD(fds[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "archnode: no listener from the child:", err)
		_ = cmd.Process.Kill()
		return 1
	}
	go serve(listener)
	// Signals for archnode go to the program.
	sigs := make(chan os.Signal, 4)
	signalNotify(sigs)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return 1
	}
	return 0
}

func receiveFD(sock int) (int, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, 0)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return -1, fmt.Errorf("no control message: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return -1, fmt.Errorf("no fd: %v", err)
	}
	return fds[0], nil
}

// serve answers the child's (and its descendants') uname calls.
func serve(listener int) {
	runtime.LockOSThread()
	var real unix.Utsname
	if err := unix.Uname(&real); err != nil {
		panic(err)
	}
	fake := real
	for i := range fake.Machine {
		fake.Machine[i] = 0
	}
	copy(fake.Machine[:], machine)
	raw := (*[unsafe.Sizeof(fake)]byte)(unsafe.Pointer(&fake))[:]
	for {
		var n seccompNotif
		if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); e != 0 {
			if e == unix.EINTR || e == unix.ENOENT {
				continue
			}
			fmt.Fprintln(os.Stderr, "archnode: receive:", e)
			return
		}
		resp := seccompResp{ID: n.ID}
		if err := write(listener, n, raw); err != nil {
			resp.Error = -int32(unix.EFAULT)
		}
		unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

// write puts the fake utsname at the caller's buffer (uname's one argument).
func write(listener int, n seccompNotif, raw []byte) error {
	f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", n.Pid), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	// The caller may have died and its pid been reused since: check the
	// notification is still live before writing.
	id := n.ID
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id))); e != 0 {
		return e
	}
	_, err = f.WriteAt(raw, int64(n.Args[0]))
	return err
}

// child installs the filter on its one thread, sends the listener to the
// parent on fd 3, and execs the program from that thread.
func child() {
	runtime.LockOSThread()
	const auditArchX86_64 = 0xc000003e
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4},                              // arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: auditArchX86_64}, // else allow
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},                              // nr
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: unix.SYS_UNAME},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_USER_NOTIF},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, e := unix.Syscall(unix.SYS_SECCOMP, 1 /* SECCOMP_SET_MODE_FILTER */, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&fprog)))
	if e != 0 {
		fmt.Fprintln(os.Stderr, "archnode: seccomp:", e)
		os.Exit(1)
	}
	if err := unix.Sendmsg(3, []byte{0}, unix.UnixRights(int(fd)), nil, 0); err != nil {
		fmt.Fprintln(os.Stderr, "archnode: send listener:", err)
		os.Exit(1)
	}
	unix.Close(int(fd))
	unix.Close(3)
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "archnode:", err)
		os.Exit(127)
	}
	env := []string{}
	for _, kv := range os.Environ() {
		if len(kv) < len(childEnv) || kv[:len(childEnv)] != childEnv {
			env = append(env, kv)
		}
	}
	err = syscall.Exec(path, os.Args[1:], env)
	fmt.Fprintln(os.Stderr, "archnode: exec:", err)
	os.Exit(127)
}

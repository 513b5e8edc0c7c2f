package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/dswarm/dswarm/stack"
)

// standbyCmd runs inside the worker image as a swarm standby (see
// stack.StandbyCommand): it waits for the task's ffmpeg command in the gate
// file and becomes that ffmpeg, so the container started before its task
// was known.
func standbyCmd(ctx context.Context, args []string, _, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: dswarm standby GATE")
		return 2
	}
	argv, err := stack.AwaitGate(ctx, args[0], 20*time.Millisecond)
	if err != nil {
		return fail(stderr, err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(stderr, err)
	}
	if err := syscall.Exec(path, argv, os.Environ()); err != nil {
		return fail(stderr, fmt.Errorf("run %s: %w", argv[0], err))
	}
	return 0
}

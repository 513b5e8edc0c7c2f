package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/dswarm/dswarm/stack"
)

// standbyCmd runs inside the worker image as a swarm standby (see
// stack.StandbyCommand): it waits for the task's ffmpeg command in the gate
// file, runs it, and leaves its exit status beside the gate the moment it
// ends (stack.WriteExit), so that dswarm learns of the end without waiting
// for Swarm's own report of the task's state (0.3-0.4 s later on the test
// swarm). The container's stop signal reaches ffmpeg.
func standbyCmd(ctx context.Context, args []string, _, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: dswarm standby GATE")
		return 2
	}
	gate := args[0]
	argv, err := stack.AwaitGate(ctx, gate, 20*time.Millisecond)
	if err != nil {
		return fail(stderr, err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(stderr, err)
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fail(stderr, fmt.Errorf("run %s: %w", argv[0], err))
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	code := exitCode(cmd.Wait())
	close(done)
	if err := stack.WriteExit(gate, code); err != nil {
		fmt.Fprintf(stderr, "dswarm standby: %v\n", err)
	}
	return code
}

// exitCode is a finished command's exit status, as a shell gives it
// (128+N for a command killed by signal N).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return 1
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/stack"
)

// TestStandbyLeavesExitStatus: `dswarm standby GATE` runs the gate's ffmpeg
// command and leaves its exit status beside the gate, then exits with it.
func TestStandbyLeavesExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
		code string
	}{
		{"ok", []string{"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=d=0.2", "-f", "null", "-"}, "0"},
		{"fails", []string{"ffmpeg", "-v", "error", "-f", "lavfi", "-i", "nosuchsource", "-f", "null", "-"}, "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gate := filepath.Join(t.TempDir(), ".task-x.gate")
			require.NoError(t, stack.WriteGate(gate, tc.argv))
			var stderr bytes.Buffer
			code := standbyCmd(context.Background(), []string{gate}, nil, &stderr)
			b, err := os.ReadFile(gate + ".exit")
			require.NoError(t, err, "exit status left beside the gate")
			assert.Equal(t, tc.code, strings.TrimSpace(string(b)))
			assert.Equal(t, tc.code, strconv.Itoa(code), "the standby exits with its command's status")
			assert.Empty(t, stderr.String())
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSimulateCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"simulate", "--node-speeds", "48,36,12", "--segments", "120", "--seed", "1",
		"--speed-error", "0.3", "--slowdown", "1:3@180", "--startup-s", "1.5"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	assert.Regexp(t, regexp.MustCompile(`^dswarm makespan/lower-bound: 1\.0\d\d$`), lines[len(lines)-1])
	for _, p := range []string{"static-weights", "equal-round-robin", "min-mm", "dswarm"} {
		assert.Contains(t, stdout.String(), p)
	}

	stdout.Reset()
	stderr.Reset()
	code = run(context.Background(), []string{"simulate", "--json", "--seed", "2"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var rep simReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
	require.Len(t, rep.Policies, 4)
	assert.Equal(t, "dswarm", rep.Policies[3].Policy)
	assert.Contains(t, stderr.String(), "dswarm makespan/lower-bound: ")
	total := 0
	for _, n := range rep.Policies[3].Segments {
		total += n
	}
	assert.Equal(t, 120, total)
}

func TestSimulateBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--slowdown", "9:3@10"}, {"--slowdown", "1:x@10"}, {"--node-speeds", "48,fast"}, {"--segments", "0"},
		{"--node-speeds", "1,1,12", "--true-speeds", "12,12"}, {"--true-speeds", "12,12,0"},
		{"--true-speeds", "12,12,12", "--speed-error", "0.1"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"simulate"}, args...), &stdout, &stderr)
		assert.Equal(t, 1, code, "%v", args)
		assert.True(t, strings.HasPrefix(stderr.String(), "dswarm: "), stderr.String())
		assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr.String()), "\n")+1, "one line: %s", stderr.String())
	}
}

// TestSimulateTrueSpeeds: the case, labels 1,1,12 on nodes that
// all do 12: dswarm measures the two believed slow and finishes within 1.15
// of the lower bound.
func TestSimulateTrueSpeeds(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"simulate", "--json", "--node-speeds", "1,1,12", "--true-speeds", "12,12,12"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	var rep simReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep))
	assert.Equal(t, []float64{12, 12, 12}, rep.TrueSpeeds)
	d := rep.Policies[3]
	require.Equal(t, "dswarm", d.Policy)
	assert.LessOrEqual(t, d.Ratio, 1.15)
	for i, n := range d.Segments {
		assert.Positive(t, n, "node%d ran segments: %v", i+1, d.Segments)
	}
}

func TestParseFPS(t *testing.T) {
	f, err := parseFPS([]string{"something", "dswarm-bench fps=61.75", ""})
	require.NoError(t, err)
	assert.Equal(t, 61.75, f)
	_, err = parseFPS([]string{"ffmpeg: error"})
	assert.ErrorContains(t, err, "no measurement")
	_, err = parseFPS([]string{"dswarm-bench fps=0"})
	assert.ErrorContains(t, err, "bad measurement")
}

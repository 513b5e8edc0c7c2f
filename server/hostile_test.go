package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/optcorpus"
	"github.com/dswarm/dswarm/internal/testmedia"
)

// TestHostileOptionsThroughAPI submits every hostile option list of the
// corpus: each is refused with 400 and a one-line reason naming the
// option, no job is recorded, nothing appears where the option pointed,
// and nothing of the file it wanted read comes back.
func TestHostileOptionsThroughAPI(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	s, hs := testServer(t, "", nil)
	input := upload(t, hs, "in.mp4", src)
	dir, err := os.MkdirTemp("", "canary")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	const secretText = "SECRET-CANARY-7f3a"
	secret := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(secret, []byte(secretText+"\n"), 0o600))
	n := 0
	for _, tc := range optcorpus.Hostile {
		if tc.OK {
			continue
		}
		n++
		body, err := json.Marshal(SubmitRequest{Input: input, Output: "out.mkv",
			Options: optcorpus.Substitute(tc.Args, filepath.Join(dir, "x"), secret)})
		require.NoError(t, err)
		code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, strings.NewReader(string(body)), nil)
		assert.Equal(t, 400, code, "%v: %s", tc.Args, msg)
		assert.Contains(t, msg, "option ", "%v", tc.Args)
		assert.Contains(t, msg, tc.Why, "%v", tc.Args)
		assert.NotContains(t, msg, "\n")
		assert.NotContains(t, msg, secretText)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "only the secret in the canary folder")
	jobs, err := os.ReadDir(filepath.Join(s.opt.Root, "jobs"))
	require.NoError(t, err)
	assert.Empty(t, jobs, "no job recorded")
	t.Logf("%d hostile option lists refused through the API", n)
}

package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
)

const token = "s3cret-token"

// counting is the local executor, counting the segment tasks it runs.
type counting struct {
	job.Local
	segments atomic.Int32
}

func (c *counting) Run(ctx context.Context, t job.Task) (job.TaskResult, error) {
	if t.Role == job.RoleSegment {
		c.segments.Add(1)
	}
	return c.Local.Run(ctx, t)
}

// testServer runs a scheduler whose jobs run as local ffmpeg processes
// (the swarm runner is exercised by the e2e tests).
func testServer(t *testing.T, root string, exec *counting, opts ...func(*Options)) (*Server, *httptest.Server) {
	t.Helper()
	if root == "" {
		root = t.TempDir()
		require.NoError(t, nfs.Layout{Root: root}.Create())
	}
	if exec == nil {
		exec = &counting{Local: job.Local{Hostname: "local"}}
	}
	o := Options{Root: root, Token: token, MaxJobs: 2, MaxUpload: 50 << 20,
		Run: func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error) {
			cfg.Workers, cfg.SegmentDuration = 2, time.Second
			return job.Run(ctx, cfg, exec)
		}}
	for _, f := range opts {
		f(&o)
	}
	s, err := New(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.Start(ctx)
	// The server as dswarm serve runs it: its timeouts are under test too.
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = s.HTTPServer()
	hs.Start()
	t.Cleanup(hs.Close)
	return s, hs
}

func call(t *testing.T, method, url, tok string, body io.Reader, into any) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if method == http.MethodPut && req.ContentLength > 0 {
		// As the dswarm client does: a refused upload is answered before
		// its body, and the connection closed. A client that sends the body
		// at once may be reset mid-write and lose the answer.
		req.Header.Set("Expect", "100-continue")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode < 300 {
		require.NoError(t, json.Unmarshal(b, into), string(b))
	}
	var e struct{ Error string }
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Error
}

func upload(t *testing.T, hs *httptest.Server, name, file string) string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	var up struct{ Path string }
	code, msg := call(t, "PUT", hs.URL+"/api/v1/uploads/"+name, token, f, &up)
	require.Equal(t, 201, code, msg)
	return up.Path
}

func waitJob(t *testing.T, hs *httptest.Server, id string) Record {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var rec Record
		code, msg := call(t, "GET", hs.URL+"/api/v1/jobs/"+id, token, nil, &rec)
		require.Equal(t, 200, code, msg)
		if rec.Final() {
			return rec
		}
		require.True(t, time.Now().Before(deadline), "job %s still %s", id, rec.State)
		time.Sleep(100 * time.Millisecond)
	}
}

// TestJobThroughAPI: upload, submit, follow the event stream, download
// with and without Range; the output holds every source frame; the
// metrics count the segments.
func TestJobThroughAPI(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	s, hs := testServer(t, "", nil)
	in := upload(t, hs, "my movie (1).mp4", src)
	assert.Equal(t, "upload/my_movie_1_.mp4", in, "name sanitised")

	// Follow the events before submitting.
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	body, _ := json.Marshal(SubmitRequest{Input: in, Output: "out.mkv", Options: []string{"-c:v", "ffv1"}})
	var rec Record
	code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, bytes.NewReader(body), &rec)
	require.Equal(t, 201, code, msg)
	assert.Equal(t, StateQueued, rec.State)

	states := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev Record
		require.NoError(t, json.Unmarshal([]byte(line), &ev))
		if ev.ID != rec.ID {
			continue
		}
		states[ev.State] = true
		if ev.Final() {
			break
		}
	}
	assert.True(t, states[StateRunning] && states[StateDone], "events saw %v", states)

	done := waitJob(t, hs, rec.ID)
	require.Equal(t, StateDone, done.State, done.Error)
	require.NotNil(t, done.Summary)
	assert.Equal(t, done.Summary.SourceFrames, done.Summary.OutputFrames)
	assert.Greater(t, len(done.Segments), 1)
	for _, seg := range done.Segments {
		assert.Equal(t, "done", seg.State, "segment %d", seg.Index)
		assert.Equal(t, "local", seg.Node)
		assert.Equal(t, 1, seg.Attempts)
	}

	out := filepath.Join(s.opt.Root, "download", "out.mkv")
	whole, err := os.ReadFile(out)
	require.NoError(t, err)
	req, _ = http.NewRequest("GET", hs.URL+"/api/v1/jobs/"+rec.ID+"/output", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Range", "bytes=100-199")
	resp2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	part, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	assert.Equal(t, http.StatusPartialContent, resp2.StatusCode)
	assert.Equal(t, whole[100:200], part)

	mreq, _ := http.NewRequest("GET", hs.URL+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer "+token)
	mresp, err := http.DefaultClient.Do(mreq)
	require.NoError(t, err)
	metrics, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	assert.Contains(t, string(metrics), `dswarm_jobs{state="done"} 1`)
	assert.Contains(t, string(metrics), `dswarm_segments_total{outcome="done"} `+itoa(len(done.Segments)))
	assert.Contains(t, string(metrics), `dswarm_storage_bytes_total{direction="download"} 100`)
	assert.Contains(t, string(metrics), "dswarm_queue_length 0")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestRefusals: each bad request gets its status and a message naming the
// cause, and nothing is written to the storage.
func TestRefusals(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	s, hs := testServer(t, "", nil, func(o *Options) { o.MaxUpload = 64 << 10 })
	root := s.opt.Root
	outside := filepath.Join(t.TempDir(), "secret.mp4")
	require.NoError(t, os.WriteFile(outside, []byte("x"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "upload", "link.mp4")))
	text := filepath.Join(t.TempDir(), "notes.mp4")
	require.NoError(t, os.WriteFile(text, []byte("just some text, not a video\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "upload", "ok.mp4"), []byte("x"), 0o644))
	submit := func(req SubmitRequest) string {
		b, _ := json.Marshal(req)
		return string(b)
	}
	// A file's bytes with their length, as the dswarm client sends them.
	open := func(p string) io.Reader {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return bytes.NewReader(b)
	}
	cases := []struct {
		name, method, path, tok string
		body                    io.Reader
		status                  int
		msg                     string
	}{
		{"no token", "GET", "/api/v1/jobs", "", nil, 401, "no API token"},
		{"wrong token", "GET", "/api/v1/jobs", "s3cret-tokeX", nil, 401, "wrong API token"},
		{"no token on metrics", "GET", "/metrics", "", nil, 401, "no API token"},
		{"traversal in upload name", "PUT", "/api/v1/uploads/..%2F..%2Fetc%2Fpasswd", token, strings.NewReader("x"), 400, "plain file name"},
		{"dot-dot upload name", "PUT", "/api/v1/uploads/%2E%2E", token, strings.NewReader("x"), 400, "plain file name"},
		{"oversize upload", "PUT", "/api/v1/uploads/big.mp4", token, open(src), 413, "over the limit"},
		{"non-video upload", "PUT", "/api/v1/uploads/notes.mp4", token, open(text), 400, "not a video file"},
		{"traversal in input", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "upload/../../etc/passwd"})), 400, "without '..'"},
		{"absolute input", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "/etc/passwd"})), 400, "relative path"},
		{"input in tmp", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "jobs/x.json"})), 400, "under upload/"},
		{"symlink out of storage", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "upload/link.mp4"})), 400, "outside the shared storage"},
		{"missing input", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "upload/nope.mp4"})), 404, "no such file"},
		{"traversal in output", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "upload/ok.mp4", Output: "../x.mkv"})), 400, "plain file name"},
		{"option naming a file", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "upload/ok.mp4", Options: []string{"-passlogfile", "/etc/x"}})), 400, "writes another file"},
		{"filter reading a file", "POST", "/api/v1/jobs", token, strings.NewReader(submit(SubmitRequest{Input: "upload/ok.mp4", Options: []string{"-vf", "movie=/etc/passwd"}})), 400, "other files"},
		{"unknown field", "POST", "/api/v1/jobs", token, strings.NewReader(`{"input":"upload/ok.mp4","cmd":"rm"}`), 400, "unknown field"},
		{"unknown job", "GET", "/api/v1/jobs/nope", token, nil, 404, "no such job"},
		{"cancel unknown job", "DELETE", "/api/v1/jobs/nope", token, nil, 404, "no such job"},
		{"output of unknown job", "GET", "/api/v1/jobs/nope/output", token, nil, 404, "no such job"},
		{"events of unknown job", "GET", "/api/v1/events?job=nope", token, nil, 404, "no such job"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, msg := call(t, c.method, hs.URL+c.path, c.tok, c.body, nil)
			assert.Equal(t, c.status, code, msg)
			assert.Contains(t, msg, c.msg)
		})
	}
	entries, _ := os.ReadDir(filepath.Join(root, "upload"))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"link.mp4", "ok.mp4"}, names, "no upload left behind")
	records, _ := os.ReadDir(filepath.Join(root, JobsDir))
	assert.Empty(t, records, "no job recorded")

	code, _ := call(t, "GET", hs.URL+"/healthz", "", nil, nil)
	assert.Equal(t, 200, code, "healthz needs no token")
}

// TestConflicts: an existing output and a second job on the same output are
// refused (409); cancelling a finished job is refused (409); its output
// before it is done is refused (409).
func TestConflicts(t *testing.T) {
	src := testmedia.Generate(t, testmedia.SingleKeyframe)
	s, hs := testServer(t, "", nil, func(o *Options) { o.MaxJobs = 1 })
	in := upload(t, hs, "a.mp4", src)
	require.NoError(t, os.WriteFile(filepath.Join(s.opt.Root, "download", "taken.mkv"), nil, 0o644))
	b, _ := json.Marshal(SubmitRequest{Input: in, Output: "taken.mkv"})
	code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, bytes.NewReader(b), nil)
	assert.Equal(t, 409, code)
	assert.Contains(t, msg, "already exists")

	b, _ = json.Marshal(SubmitRequest{Input: in, Output: "one.mkv", Options: []string{"-c:v", "ffv1"}})
	var first Record
	code, msg = call(t, "POST", hs.URL+"/api/v1/jobs", token, bytes.NewReader(b), &first)
	require.Equal(t, 201, code, msg)
	code, msg = call(t, "POST", hs.URL+"/api/v1/jobs", token, bytes.NewReader(b), nil)
	assert.Equal(t, 409, code)
	assert.Contains(t, msg, "already writing it")
	code, msg = call(t, "GET", hs.URL+"/api/v1/jobs/"+first.ID+"/output", token, nil, nil)
	assert.Equal(t, 409, code)
	assert.Contains(t, msg, "no output")
	done := waitJob(t, hs, first.ID)
	require.Equal(t, StateDone, done.State, done.Error)
	code, msg = call(t, "DELETE", hs.URL+"/api/v1/jobs/"+first.ID, token, nil, nil)
	assert.Equal(t, 409, code)
	assert.Contains(t, msg, "done already")
}

// TestCancelQueuedAndRunning: a queued job never runs; a running one stops,
// and leaves neither output nor temporary files.
func TestCancelQueuedAndRunning(t *testing.T) {
	src := testmedia.Generate(t, testmedia.SingleKeyframe)
	s, hs := testServer(t, "", nil, func(o *Options) { o.MaxJobs = 1 })
	in := upload(t, hs, "a.mp4", src)
	var ids []string
	for _, out := range []string{"one.mkv", "two.mkv"} {
		b, _ := json.Marshal(SubmitRequest{Input: in, Output: out, Options: []string{"-c:v", "libx264", "-preset", "veryslow"}})
		var rec Record
		code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, bytes.NewReader(b), &rec)
		require.Equal(t, 201, code, msg)
		ids = append(ids, rec.ID)
	}
	// Wait for the first to encode, then cancel both.
	deadline := time.Now().Add(time.Minute)
	for {
		rec, _ := s.Get(ids[0])
		if rec.Phase == "encode" {
			break
		}
		require.True(t, time.Now().Before(deadline), "job never started encoding")
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []string{ids[1], ids[0]} {
		code, msg := call(t, "DELETE", hs.URL+"/api/v1/jobs/"+id, token, nil, nil)
		require.Equal(t, 202, code, msg)
	}
	for _, id := range ids {
		rec := waitJob(t, hs, id)
		assert.Equal(t, StateCancelled, rec.State)
	}
	q, _ := s.Get(ids[1])
	assert.Nil(t, q.Started, "the queued job never ran")
	for _, d := range []string{"download", "tmp"} {
		entries, _ := os.ReadDir(filepath.Join(s.opt.Root, d))
		assert.Empty(t, entries, "%s/ left behind", d)
	}
}

// TestResumeKeepsDoneSegments: a scheduler stopped mid-job left a record
// saying which segments were done, and their files. A new scheduler on the
// same storage resumes the job: it keeps those segments (checked again),
// encodes only the rest, and the output holds every frame.
func TestResumeKeepsDoneSegments(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	root := t.TempDir()
	layout := nfs.Layout{Root: root}
	require.NoError(t, layout.Create())
	require.NoError(t, os.MkdirAll(filepath.Join(root, JobsDir), 0o755))
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "upload", "in.mp4"), data, 0o644))

	// The earlier run: every segment encoded, temp files kept.
	first := &counting{Local: job.Local{Hostname: "old"}}
	cfg := job.Config{JobID: "resume1", Input: filepath.Join(root, "upload", "in.mp4"), Output: filepath.Join(root, "download", "gone.mkv"),
		TempDir: layout.Tmp(), PartialDir: layout.Download(), FFmpegArgs: []string{"-c:v", "ffv1"}, Workers: 2, SegmentDuration: time.Second, KeepTemp: true}
	sum, err := job.Run(context.Background(), cfg, first)
	require.NoError(t, err)
	require.NoError(t, os.Remove(cfg.Output))
	n := sum.Segments
	require.Greater(t, n, 3)

	// Its record, as a scheduler killed mid-job leaves it: all but the
	// last two segments done, the job running.
	rec := &Record{ID: "resume1", State: StateRunning, Input: "upload/in.mp4", Output: "out.mkv", Options: []string{"-c:v", "ffv1"}, Created: time.Now()}
	for i := 0; i < n; i++ {
		st := "done"
		if i >= n-2 {
			st = "running"
		}
		rec.Segments = append(rec.Segments, SegmentState{Index: i, State: st, Node: "old", Attempts: 1})
	}
	rec.Audio = &SegmentState{Index: -1, State: "done"}
	require.NoError(t, Store{Dir: filepath.Join(root, JobsDir)}.Save(rec))

	again := &counting{Local: job.Local{Hostname: "new"}}
	_, hs := testServer(t, root, again)
	done := waitJob(t, hs, "resume1")
	require.Equal(t, StateDone, done.State, done.Error)
	assert.Equal(t, 1, done.Resumed)
	assert.EqualValues(t, 2, again.segments.Load(), "only the two unfinished segments are encoded again")
	for i, seg := range done.Segments {
		if i < n-2 {
			assert.True(t, seg.Reused, "segment %d kept", i)
			assert.Equal(t, "old", seg.Node)
		} else {
			assert.Equal(t, "new", seg.Node, "segment %d re-encoded", i)
		}
	}
	assert.Equal(t, done.Summary.SourceFrames, done.Summary.OutputFrames)
	assert.Equal(t, testmedia.FrameHashes(t, src, "yuv420p"), testmedia.FrameHashes(t, filepath.Join(root, "download", "out.mkv"), "yuv420p"))
}

// TestResumeLadderStartsAgain: a ladder a scheduler was killed in runs
// again from its first task; the record shows the new run's tasks only.
func TestResumeLadderStartsAgain(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	root := t.TempDir()
	require.NoError(t, nfs.Layout{Root: root}.Create())
	require.NoError(t, os.MkdirAll(filepath.Join(root, JobsDir), 0o755))
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(root, "upload", "in.mp4"), data, 0o644))
	rec := &Record{ID: "ladder1", State: StateRunning, Input: "upload/in.mp4", Output: "in.ladder", Options: []string{"-preset", "ultrafast"},
		Ladder: "120p:150k", Created: time.Now(), Segments: []SegmentState{{Index: 0, State: "done", Node: "old", Attempts: 1}, {Index: 1, State: "running", Node: "old", Attempts: 1}},
		Rungs: []job.RungStatus{{Name: "120p", Checked: 99, Frames: 150}}}
	require.NoError(t, Store{Dir: filepath.Join(root, JobsDir)}.Save(rec))
	var resumed atomic.Bool
	_, hs := testServer(t, root, nil, func(o *Options) {
		o.RunLadder = func(ctx context.Context, cfg job.LadderConfig, resume bool) (*job.LadderSummary, error) {
			resumed.Store(resume)
			cfg.Workers = 2
			return job.RunLadder(ctx, cfg, job.Local{Hostname: "new"})
		}
	})
	done := waitJob(t, hs, "ladder1")
	require.Equal(t, StateDone, done.State, done.Error)
	assert.True(t, resumed.Load(), "the runner is told the ladder is resumed")
	assert.Equal(t, 1, done.Resumed)
	require.NotEmpty(t, done.Segments)
	for _, seg := range done.Segments {
		assert.Equal(t, "new", seg.Node, "task %d", seg.Index)
		assert.Equal(t, "done", seg.State, "task %d", seg.Index)
	}
	require.Len(t, done.Rungs, 1)
	assert.Equal(t, done.Rungs[0].Frames, done.Rungs[0].Checked)
	require.NotNil(t, done.LadderSummary)
	_, err = os.Stat(filepath.Join(root, "download", "in.ladder", job.LadderMaster))
	assert.NoError(t, err)
}

// TestResumeAfterOutputMoved: the earlier scheduler died between moving the
// verified output into place and recording it; the job is done, not failed
// on an existing output.
func TestResumeAfterOutputMoved(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, nfs.Layout{Root: root}.Create())
	require.NoError(t, os.MkdirAll(filepath.Join(root, JobsDir), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "upload", "in.mp4"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "download", "out.mkv"), []byte("verified"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "tmp", ".dswarm-moved1"), 0o755))
	rec := &Record{ID: "moved1", State: StateRunning, Input: "upload/in.mp4", Output: "out.mkv", Created: time.Now(), Phase: "verify"}
	require.NoError(t, Store{Dir: filepath.Join(root, JobsDir)}.Save(rec))
	exec := &counting{Local: job.Local{Hostname: "new"}}
	_, hs := testServer(t, root, exec)
	done := waitJob(t, hs, "moved1")
	assert.Equal(t, StateDone, done.State, done.Error)
	assert.Zero(t, exec.segments.Load(), "nothing re-encoded")
	_, err := os.Stat(filepath.Join(root, "tmp", ".dswarm-moved1"))
	assert.True(t, os.IsNotExist(err), "its temp folder removed")
}

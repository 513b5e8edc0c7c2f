package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
)

// rawRequest opens a connection to hs and writes head (request line and
// headers, "\r\n"-separated, without the blank line that ends them unless
// given).
func rawRequest(t *testing.T, hs *httptest.Server, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", hs.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = io.WriteString(c, head)
	require.NoError(t, err)
	return c
}

// closedWithin reads c until the server closes it and says how long that
// took, or fails after max.
func closedWithin(c net.Conn, max time.Duration) (time.Duration, error) {
	start := time.Now()
	c.SetReadDeadline(start.Add(max))
	_, err := io.Copy(io.Discard, c)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return took, fmt.Errorf("still open after %s", max)
	}
	return took, nil
}

// TestNoTokenAnsweredBeforeBody: a request without the token gets its 401
// at once, before any of its body arrives (the body never does), and its
// connection is closed; nothing is written.
func TestNoTokenAnsweredBeforeBody(t *testing.T) {
	s, hs := testServer(t, "", nil, func(o *Options) { o.BodyIdle = time.Minute })
	for _, head := range []string{
		"PUT /api/v1/uploads/x.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
		"PUT /api/v1/uploads/x.mp4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 10000000\r\nExpect: 100-continue\r\n\r\n",
		"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
	} {
		c := rawRequest(t, hs, head)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err, "no answer without the body: %q", head)
		assert.Equal(t, 401, resp.StatusCode)
		assert.True(t, resp.Close, "Connection: close")
		resp.Body.Close()
		_, err = closedWithin(c, time.Second)
		assert.NoError(t, err, "connection of %q", head)
	}

	// The probe's case: 200 uploads without a token at once, each with a
	// short body that never comes.
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		c := rawRequest(t, hs, "PUT /api/v1/uploads/x.mp4 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if !assert.NoError(t, err, "connection %d", i) {
				return
			}
			resp.Body.Close()
			assert.Equal(t, 401, resp.StatusCode)
			_, err = closedWithin(c, 2*time.Second)
			assert.NoError(t, err, "connection %d", i)
		}()
	}
	wg.Wait()
	t.Logf("200 uploads without a token: all answered 401 and closed in %s", time.Since(start).Round(time.Millisecond))
	entries, _ := os.ReadDir(filepath.Join(s.opt.Root, "upload"))
	assert.Empty(t, entries)
}

// TestSlowClientsAreCut: connections that send their headers slowly, stall
// their body, trickle it below the minimum rate, or sit idle between
// requests are all closed within their limit, 10 of each at once.
func TestSlowClientsAreCut(t *testing.T) {
	const (
		headerTimeout = 300 * time.Millisecond
		bodyIdle      = 400 * time.Millisecond
		idle          = 300 * time.Millisecond
		margin        = 700 * time.Millisecond
	)
	_, hs := testServer(t, "", nil, func(o *Options) {
		o.ReadHeaderTimeout, o.BodyIdle, o.MinBodyRate, o.IdleTimeout = headerTimeout, bodyIdle, 1024, idle
	})
	upload := "PUT /api/v1/uploads/slow.mp4 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\nContent-Length: 1000000\r\n\r\n"
	kinds := []struct {
		name  string
		limit time.Duration
		start func(c net.Conn, stop <-chan struct{})
		head  string
	}{
		{"headers never end", headerTimeout, nil, "PUT /api/v1/uploads/x.mp4 HTTP/1.1\r\nHost: x\r\n"},
		{"body stalls", bodyIdle, nil, upload + "0123456789"},
		{"body trickles at 20 B/s", bodyIdle + 100*time.Millisecond, func(c net.Conn, stop <-chan struct{}) {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}, upload},
		{"idle after a request", idle, nil, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"},
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	defer close(stop)
	for _, k := range kinds {
		for i := 0; i < 10; i++ {
			c := rawRequest(t, hs, k.head)
			if k.start != nil {
				go k.start(c, stop)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				took, err := closedWithin(c, k.limit+margin)
				assert.NoError(t, err, "%s: connection %d (limit %s)", k.name, i, k.limit)
				assert.GreaterOrEqual(t, took, k.limit/2, "%s: closed before its limit", k.name)
			}()
		}
	}
	wg.Wait()
}

// TestSlowUploadThatMovesSurvives: an upload that takes several times
// BodyIdle, but keeps moving above the minimum rate, completes: the
// deadline follows progress, it is not one whole-request timeout.
func TestSlowUploadThatMovesSurvives(t *testing.T) {
	src := testmedia.Generate(t, testmedia.NoAudio)
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	const bodyIdle = 300 * time.Millisecond
	_, hs := testServer(t, "", nil, func(o *Options) { o.BodyIdle, o.MinBodyRate = bodyIdle, 1024 })
	pr, pw := io.Pipe()
	go func() {
		const parts = 12
		step := len(data)/parts + 1
		for off := 0; off < len(data); off += step {
			time.Sleep(100 * time.Millisecond)
			if _, err := pw.Write(data[off:min(off+step, len(data))]); err != nil {
				return
			}
		}
		pw.Close()
	}()
	req, err := http.NewRequest("PUT", hs.URL+"/api/v1/uploads/slow.mp4", pr)
	require.NoError(t, err)
	req.ContentLength = int64(len(data))
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 201, resp.StatusCode, string(b))
	assert.Greater(t, time.Since(start), 3*bodyIdle, "the upload took several idle periods")
}

// TestSubmitLimits: names and option sizes are checked at submit (400),
// strict JSON (400), a large body is 413; nothing is recorded.
func TestSubmitLimits(t *testing.T) {
	s, hs := testServer(t, "", nil)
	require.NoError(t, os.WriteFile(filepath.Join(s.opt.Root, "upload", "ok.mp4"), []byte("x"), 0o644))
	body := func(req SubmitRequest) string {
		b, _ := json.Marshal(req)
		return string(b)
	}
	metadata := []string{"-c:v", "libx264"}
	for len(strings.Join(metadata, "")) < 20<<10 {
		metadata = append(metadata, "-metadata", "comment="+strings.Repeat("A", 1000))
	}
	many := make([]string, 0, 600)
	for len(many) < 600 {
		many = append(many, "-an")
	}
	for _, c := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"newline in output", body(SubmitRequest{Input: "upload/ok.mp4", Output: "a\nb.mkv"}), 400, "control character"},
		{"escape in output", body(SubmitRequest{Input: "upload/ok.mp4", Output: "a\x1b[2Jb.mkv"}), 400, "control character"},
		{"newline in input", body(SubmitRequest{Input: "upload/ok.mp4\n"}), 400, "control character"},
		{"output of 300 bytes", body(SubmitRequest{Input: "upload/ok.mp4", Output: strings.Repeat("a", 296) + ".mkv"}), 400, "over the limit of 255"},
		{"20 KiB of -metadata", body(SubmitRequest{Input: "upload/ok.mp4", Options: metadata}), 400, "over the limit of 16384"},
		{"600 option words", body(SubmitRequest{Input: "upload/ok.mp4", Options: many}), 400, "over the limit of 512"},
		{"trailing garbage", `{"input":"upload/ok.mp4"} rm -rf`, 400, "trailing data"},
		{"two objects", `{"input":"upload/ok.mp4"}{"input":"upload/ok.mp4"}`, 400, "trailing data"},
		{"unknown field", `{"input":"upload/ok.mp4","cmd":"rm"}`, 400, "unknown field"},
		{"1 MB body", `{"input":"upload/ok.mp4","options":["-metadata","c=` + strings.Repeat("A", 1<<20) + `"]}`, 413, "over the limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, strings.NewReader(c.body), nil)
			assert.Equal(t, c.status, code, msg)
			assert.Contains(t, msg, c.msg)
		})
	}
	records, _ := os.ReadDir(filepath.Join(s.opt.Root, JobsDir))
	assert.Empty(t, records, "no job recorded")
	var rec Record
	code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, strings.NewReader(body(SubmitRequest{Input: "upload/ok.mp4", Output: strings.Repeat("a", 251) + ".mkv"})+"\n"), &rec)
	require.Equal(t, 201, code, "255 bytes and a final newline are fine: %s", msg)
	waitJob(t, hs, rec.ID) // (it fails: the input is no video) before the storage goes
}

// TestJobListPaging: ?limit= and ?after= walk the jobs oldest first; the
// client follows the pages.
func TestJobListPaging(t *testing.T) {
	s, hs := testServer(t, "", nil)
	base := time.Now().Add(-time.Hour)
	var ids []string
	for i := 0; i < 5; i++ {
		r := &Record{ID: fmt.Sprintf("job-%d", i), State: StateDone, Input: "upload/x.mp4", Output: fmt.Sprintf("x%d.mkv", i), Created: base.Add(time.Duration(i) * time.Minute), Segments: []SegmentState{}}
		s.mu.Lock()
		s.jobs[r.ID] = r
		s.mu.Unlock()
		ids = append(ids, r.ID)
	}
	list := func(query string) ([]string, int, string) {
		var recs []*Record
		code, msg := call(t, "GET", hs.URL+"/api/v1/jobs"+query, token, nil, &recs)
		var got []string
		for _, r := range recs {
			got = append(got, r.ID)
		}
		return got, code, msg
	}
	got, _, _ := list("?limit=2")
	assert.Equal(t, ids[:2], got)
	got, _, _ = list("?limit=2&after=job-1")
	assert.Equal(t, ids[2:4], got)
	got, _, _ = list("?limit=2&after=job-3")
	assert.Equal(t, ids[4:], got)
	got, _, _ = list("?after=job-4")
	assert.Empty(t, got)
	got, _, _ = list("")
	assert.Equal(t, ids, got)
	_, code, msg := list("?limit=0")
	assert.Equal(t, 400, code, msg)
	_, code, msg = list("?limit=1001")
	assert.Equal(t, 400, code, msg)
	_, code, msg = list("?after=nope")
	assert.Equal(t, 404, code, msg)

	c := &Client{URL: hs.URL, Token: token}
	recs, err := c.Jobs(context.Background())
	require.NoError(t, err)
	assert.Len(t, recs, 5)
}

// TestErrorsScrubbed: a job whose segment and run fail with a CIFS mount
// error holding the password keeps neither in its record, on disk, through
// the API or the event stream; the cause stays.
func TestErrorsScrubbed(t *testing.T) {
	const password = "KNOWN-pw d"
	mountErr := "task rejected: failed to mount local volume: mount //srv/media:/var/lib/docker/volumes/v/_data, data: addr=srv,username=bob,password=" + password + ": no such device"
	s, hs := testServer(t, "", nil, func(o *Options) {
		o.Secrets = []string{password}
		o.Run = func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error) {
			cfg.OnSegment(job.SegmentEvent{Index: 0, State: "failed", Node: "n1", Attempt: 1, Error: "segment 0 on node n1: " + mountErr})
			return nil, errors.New("segment 0 on node n1: " + mountErr + " (secret " + password + ")")
		}
	})
	require.NoError(t, os.WriteFile(filepath.Join(s.opt.Root, "upload", "ok.mp4"), []byte("x"), 0o644))
	var rec Record
	code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, strings.NewReader(`{"input":"upload/ok.mp4"}`), &rec)
	require.Equal(t, 201, code, msg)
	done := waitJob(t, hs, rec.ID)
	require.Equal(t, StateFailed, done.State)
	assert.Contains(t, done.Error, "no such device")

	check := func(where string, b []byte) {
		assert.NotContains(t, string(b), "KNOWN", where)
		assert.NotContains(t, string(b), "pw d", where)
	}
	disk, err := os.ReadFile(filepath.Join(s.opt.Root, JobsDir, rec.ID+".json"))
	require.NoError(t, err)
	check("record on disk", disk)
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/jobs/"+rec.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	api, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	check("API", api)
	assert.Contains(t, string(api), "no such device")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", hs.URL+"/api/v1/events?job="+rec.ID, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			check("event", []byte(line))
			assert.Contains(t, line, "no such device")
			break
		}
	}
}

// TestOldRecordsScrubbedOnLoad: a record written before errors were
// scrubbed loses its secret, in memory and on disk, when the scheduler
// reads it.
func TestOldRecordsScrubbedOnLoad(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, nfs.Layout{Root: root}.Create())
	old := &Record{ID: "old", State: StateFailed, Input: "upload/x.mp4", Output: "x.mkv", Created: time.Now(),
		Error:    "task failed: mount //srv/s, data: addr=srv,password=OLD-secret: no such device",
		Segments: []SegmentState{{Index: 0, State: "failed", Error: "credentials=/etc/OLD-cred refused"}}}
	require.NoError(t, os.MkdirAll(filepath.Join(root, JobsDir), 0o775))
	require.NoError(t, Store{Dir: filepath.Join(root, JobsDir)}.Save(old))
	s, _ := testServer(t, root, nil)
	rec, ok := s.Get("old")
	require.True(t, ok)
	b, _ := json.Marshal(rec)
	assert.NotContains(t, string(b), "OLD")
	assert.Contains(t, rec.Error, "no such device")
	disk, err := os.ReadFile(filepath.Join(root, JobsDir, "old.json"))
	require.NoError(t, err)
	assert.NotContains(t, string(disk), "OLD", "rewritten on disk")
}

// TestStalledReaderIsCut: a client that asks for a large output and stops
// reading it frees the connection after WriteIdle; one that keeps reading
// gets it all.
func TestStalledReaderIsCut(t *testing.T) {
	const writeIdle = 300 * time.Millisecond
	s, hs := testServer(t, "", nil, func(o *Options) { o.WriteIdle = writeIdle })
	const size = 64 << 20 // far more than the sockets' buffers
	f, err := os.Create(filepath.Join(s.layout.Download(), "big.mkv"))
	require.NoError(t, err)
	require.NoError(t, f.Truncate(size)) // sparse: no disk used
	f.Close()
	s.mu.Lock()
	s.jobs["big"] = &Record{ID: "big", State: StateDone, Input: "upload/x.mp4", Output: "big.mkv", Created: time.Now(), Segments: []SegmentState{}}
	s.mu.Unlock()

	get := "GET /api/v1/jobs/big/output HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n"
	c := rawRequest(t, hs, get)
	time.Sleep(writeIdle + 700*time.Millisecond)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	n, err := io.Copy(io.Discard, c)
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "still open after the server should have given up: %v", err)
	assert.Less(t, n, int64(size), "the server stopped writing")

	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/jobs/big/output", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	n, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	assert.Equal(t, int64(size), n, "a reader that keeps reading gets it all")
}

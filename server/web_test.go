package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/server"
)

const webToken = "t0ken"

// webServer starts a scheduler on a temporary storage root that runs its
// jobs for real, with ffmpeg on this machine, and serves its handler.
func webServer(t *testing.T) (string, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, nfs.Layout{Root: dir}.Create())
	localRun := func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error) {
		cfg.Workers = 2
		cfg.SegmentDuration = time.Second
		return job.Run(ctx, cfg, job.Local{Hostname: "local"})
	}
	s, err := server.New(server.Options{
		Root:    dir,
		Token:   webToken,
		MaxJobs: 1,
		Run:     localRun,
		Nodes: func(context.Context) ([]server.Node, error) {
			return []server.Node{{Hostname: "local", Arch: "x86_64", State: "ready", Weight: 1, Slots: 2, Eligible: true}}, nil
		},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.Start(ctx)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return dir, ts
}

// browser starts headless Chromium; the test fails without it (CI installs
// the chromium package). Console messages and page errors go to the test
// log; page errors also fail the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	require.NoError(t, err, "the web UI test needs Chromium: install it (apt-get install chromium)")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	require.NoError(t, chromedp.Do(ctx), "start Chromium")

	console := chromedp.Events(ctx, runtime.ConsoleAPICalled)
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var pageErrors []string
	wg.Go(func() {
		for ev, err := range console {
			if err != nil {
				return
			}
			var args []string
			for _, a := range ev.Args {
				args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			t.Logf("browser console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	})
	wg.Go(func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			pageErrors = append(pageErrors, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		wg.Wait()
		assert.Empty(t, pageErrors, "JavaScript errors on the page")
	})
	return ctx
}

func TestWebUISubmitAndWatch(t *testing.T) {
	dir, ts := webServer(t)
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	ctx := browser(t)

	start := time.Now()
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(sctx, actions...), what)
		t.Logf("%6.2fs %s", time.Since(start).Seconds(), what)
	}
	step("open the page with the token, see the nodes",
		chromedp.Navigate(ts.URL+"/?token="+webToken),
		chromedp.WaitVisible(chromedp.CSS("#nodes .node")),
	)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, ts.URL+"/", loc, "the token is dropped from the address")
	node, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#nodes .node")))
	require.NoError(t, err)
	assert.Contains(t, node, "local")
	assert.Contains(t, node, "x86_64")

	step("submit a job",
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{src}),
		// FFV1 does not go in MP4, the default output's container.
		chromedp.SetValue(chromedp.CSS("#output"), "pyramid-ffv1.mkv"),
		chromedp.SetValue(chromedp.CSS("#options"), "-c:v ffv1"),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#jobs [data-job-id] .state")),
	)

	// Wait for the job to end, however it ends.
	wctx, cancel := context.WithTimeout(ctx, 100*time.Second)
	defer cancel()
	state, err := chromedp.Run(wctx, chromedp.Poll[string](
		`[...document.querySelectorAll("#jobs [data-job-id] .state")].map(e => e.textContent).find(s => ["done", "failed", "cancelled"].includes(s))`,
		chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(200*time.Millisecond)))
	msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#message").textContent + " | " + document.querySelector("#job-error").textContent`))
	require.NoError(t, err, "the job did not end in 90 s; message: %s", msg)
	t.Logf("%6.2fs job %s", time.Since(start).Seconds(), state)
	require.Equal(t, "done", state, "message and job error: %s", msg)

	type seg struct{ State, Title string }
	segs, err := chromedp.Run(ctx, chromedp.Evaluate[[]seg](
		`[...document.querySelectorAll("#segments .seg")].map(e => ({State: e.dataset.state, Title: e.title}))`))
	require.NoError(t, err)
	require.Greater(t, len(segs), 1, "a 6 s input cut in 1 s segments")
	for i, s := range segs {
		assert.Equal(t, "done", s.State, "segment %d", i)
		assert.Regexp(t, fmt.Sprintf(`^segment %d: done on local, 1 attempts, [0-9.]+ fps`, i), s.Title)
	}
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#jobs [data-job-id] a").getAttribute("href")`))
	require.NoError(t, err)

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile("/tmp/dswarm-ui.png", png, 0o644))

	// The same, as the API tells it.
	req, err := http.NewRequest("GET", ts.URL+"/api/v1/jobs", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+webToken)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var recs []server.Record
	require.NoError(t, json.NewDecoder(res.Body).Decode(&recs))
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, server.StateDone, rec.State, rec.Error)
	assert.Equal(t, "upload/"+filepath.Base(src), rec.Input)
	assert.Equal(t, "pyramid-ffv1.mkv", rec.Output)
	assert.Equal(t, []string{"-c:v", "ffv1"}, rec.Options)
	assert.Len(t, rec.Segments, len(segs))
	assert.Equal(t, "/api/v1/jobs/"+rec.ID+"/output", href)
	st, err := os.Stat(filepath.Join(dir, nfs.DownloadDir, rec.Output))
	require.NoError(t, err, "the output in download/")
	assert.Positive(t, st.Size())
}

func TestWebUIRequiresToken(t *testing.T) {
	_, ts := webServer(t)
	for _, url := range []string{ts.URL + "/", ts.URL + "/?token=wrong"} {
		res, err := http.Get(url)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, res.StatusCode, url)
	}
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar}
	res, err := c.Get(ts.URL + "/?token=" + webToken)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode, "the token is taken as a cookie, and the page follows")
	assert.Equal(t, "/", res.Request.URL.Path)
}

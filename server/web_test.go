package server_test

import (
	"cmp"
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
// watch, when given, hears a ladder job's progress too.
func webServer(t *testing.T, watch ...func(job.Status)) (string, *httptest.Server) {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, nfs.Layout{Root: dir}.Create())
	localRun := func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error) {
		cfg.Workers = 2
		cfg.SegmentDuration = time.Second
		return job.Run(ctx, cfg, job.Local{Hostname: "local"})
	}
	localLadder := func(ctx context.Context, cfg job.LadderConfig, resume bool) (*job.LadderSummary, error) {
		cfg.Workers = 2
		cfg.SegmentDuration = 2 * time.Second
		progress := cfg.Progress
		cfg.Progress = func(st job.Status) {
			for _, w := range watch {
				w(st)
			}
			progress(st)
		}
		return job.RunLadder(ctx, cfg, job.Local{Hostname: "local"})
	}
	s, err := server.New(server.Options{
		Root:      dir,
		Token:     webToken,
		MaxJobs:   1,
		Run:       localRun,
		RunLadder: localLadder,
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
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
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

// stepper returns a function that runs browser actions, each step within
// 30 s, and logs how long after start it ended.
func stepper(t *testing.T, ctx context.Context, start time.Time) func(string, ...chromedp.Action[chromedp.Void]) {
	return func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		require.NoError(t, chromedp.Do(sctx, actions...), what)
		t.Logf("%6.2fs %s", time.Since(start).Seconds(), what)
	}
}

// waitPageJobDone waits until the page's job table shows the job ended,
// however it ends, and requires that it is done.
func waitPageJobDone(t *testing.T, ctx context.Context, within time.Duration) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, within+10*time.Second)
	defer cancel()
	state, err := chromedp.Run(wctx, chromedp.Poll[string](
		`[...document.querySelectorAll("#jobs [data-job-id] .state")].map(e => e.textContent).find(s => ["done", "failed", "cancelled"].includes(s))`,
		chromedp.WithPollingTimeout(within), chromedp.WithPollingInterval(200*time.Millisecond)))
	msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#message").textContent + " | " + document.querySelector("#job-error").textContent`))
	require.NoError(t, err, "the job did not end in %s; message: %s", within, msg)
	require.Equal(t, "done", state, "message and job error: %s", msg)
}

func TestWebUISubmitAndWatch(t *testing.T) {
	dir, ts := webServer(t)
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	ctx := browser(t)

	start := time.Now()
	step := stepper(t, ctx, start)
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

	waitPageJobDone(t, ctx, 90*time.Second)
	t.Logf("%6.2fs job done", time.Since(start).Seconds())

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

// ladderSource is 16 s of 640x360 with a tone: two encode tasks of a
// ladder with 2 s segments.
var ladderSource = testmedia.Spec{Name: "web-ladder-360p.mp4", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=16", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=16",
	"-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac"}}

// TestWebUILadderPlays submits a ladder job from the page, watches its
// rungs advance, and plays the result on the page: the video element must
// reach readyState >= 3 and its currentTime advance.
func TestWebUILadderPlays(t *testing.T) {
	var mu sync.Mutex
	var seen []job.Status
	dir, ts := webServer(t, func(st job.Status) {
		mu.Lock()
		seen = append(seen, st)
		mu.Unlock()
	})
	src := testmedia.Generate(t, ladderSource)
	ctx := browser(t)
	start := time.Now()
	step := stepper(t, ctx, start)
	step("open the page, submit a two-rung ladder with the form's default options",
		chromedp.Navigate(ts.URL+"/?token="+webToken),
		chromedp.WaitVisible(chromedp.CSS("#nodes .node")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{src}),
		chromedp.SetValue(chromedp.CSS("#ladder"), "360p:800k,180p:250k"),
		chromedp.Click(chromedp.CSS("#submit")),
		chromedp.WaitVisible(chromedp.CSS("#detail #rungs")),
	)
	waitPageJobDone(t, ctx, 140*time.Second)
	t.Logf("%6.2fs ladder done", time.Since(start).Seconds())
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// The rungs advanced task by task: some status had every rung's first
	// task checked and not yet its last.
	mu.Lock()
	var between bool
	for _, st := range seen {
		if len(st.Rungs) == 2 && st.Rungs[0].Checked > 0 && st.Rungs[0].Checked < st.Rungs[0].Frames &&
			st.Rungs[1].Checked == st.Rungs[0].Checked {
			between = true
		}
	}
	mu.Unlock()
	assert.True(t, between, "no progress between a rung's first and last task was reported")

	type rung struct{ Name, Cells string }
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]rung](
		`[...document.querySelectorAll("#rungs tbody tr")].map(tr => ({Name: tr.dataset.rung, Cells: tr.innerText}))`))
	require.NoError(t, err)
	require.Len(t, rows, 2)
	assert.Equal(t, "360p", rows[0].Name)
	assert.Equal(t, "180p", rows[1].Name)
	for _, r := range rows {
		assert.Regexp(t, `100%\s+100%\s+\d+k \([+-]\d+\.\d%\)\s+\d+k of \d+k`, r.Cells, "rung %s: encoded, checked, made, peak", r.Name)
	}

	// The page plays the smallest rung with the audio.
	_, err = chromedp.Run(wctx, chromedp.Poll[bool](`(() => { const v = document.querySelector("#player");
		return v.readyState >= 3 && v.currentTime > 1 || v.error !== null || document.querySelector("#player-note").textContent.startsWith("cannot") })()`,
		chromedp.WithPollingTimeout(60*time.Second)))
	require.NoError(t, err, "the page's video did not start")
	type playback struct {
		ReadyState  int     `json:"readyState"`
		CurrentTime float64 `json:"currentTime"`
		Width       int     `json:"width"`
		Error       string  `json:"error"`
		Note        string  `json:"note"`
	}
	probe := chromedp.Evaluate[playback](`(() => { const v = document.querySelector("#player");
		return {readyState: v.readyState, currentTime: v.currentTime, width: v.videoWidth,
			error: v.error ? v.error.message : "", note: document.querySelector("#player-note").textContent}; })()`)
	first, err := chromedp.Run(ctx, probe)
	require.NoError(t, err)
	time.Sleep(1500 * time.Millisecond)
	then, err := chromedp.Run(ctx, probe)
	require.NoError(t, err)
	t.Logf("playback: %+v, then %+v", first, then)
	assert.Empty(t, then.Error)
	assert.GreaterOrEqual(t, then.ReadyState, 3)
	assert.Equal(t, 320, then.Width, "the 180p rung plays")
	assert.Greater(t, then.CurrentTime, first.CurrentTime+0.5, "currentTime advances")
	assert.Contains(t, then.Note, "180p (320x180")

	shot := cmp.Or(os.Getenv("DSWARM_WEB_SCREENSHOT"), filepath.Join(t.TempDir(), "ladder.png"))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(shot, png, 0o644))

	// The files the page played are the API's, inside the ladder's folder
	// only.
	var recs []server.Record
	get := func(path string) *http.Response {
		req, err := http.NewRequest("GET", ts.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+webToken)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return res
	}
	res := get("/api/v1/jobs")
	require.NoError(t, json.NewDecoder(res.Body).Decode(&recs))
	res.Body.Close()
	require.Len(t, recs, 1)
	rec := recs[0]
	assert.Equal(t, strings.TrimSuffix(filepath.Base(src), ".mp4")+".ladder", rec.Output)
	require.NotNil(t, rec.LadderSummary)
	assert.Len(t, rec.LadderSummary.Rungs, 2)
	assert.NotContains(t, rec.Options, "-crf", "the page leaves the rate options out of a ladder")
	st, err := os.Stat(filepath.Join(dir, nfs.DownloadDir, rec.Output, job.LadderMaster))
	require.NoError(t, err)
	assert.True(t, st.Mode().IsRegular())
	for path, want := range map[string]int{
		"/files/" + job.LadderMaster:            http.StatusOK,
		"/files/" + job.LadderManifest:          http.StatusOK,
		"/files/../../jobs/" + rec.ID + ".json": http.StatusNotFound,
		"/files/%2e%2e/" + rec.Output:           http.StatusNotFound,
		"/output":                               http.StatusConflict,
	} {
		res := get("/api/v1/jobs/" + rec.ID + path)
		res.Body.Close()
		assert.Equal(t, want, res.StatusCode, path)
	}
	res = get("/api/v1/jobs/" + rec.ID + "/files/" + job.LadderManifest)
	res.Body.Close()
	assert.Equal(t, "application/dash+xml", res.Header.Get("Content-Type"))
}

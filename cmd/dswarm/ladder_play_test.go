package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// ladderPlayer is what an HLS player in a browser does with fMP4 (hls.js
// does it so): read the variant playlists, append the init and media
// segments to Media Source Extensions buffers, play. It switches rungs at
// every segment (segment i from rung i mod 2), appending that rung's init
// segment before its first segment after a switch, so the browser's own
// decoder proves that the rungs cut at the same times and switch cleanly.
const ladderPlayer = `<!doctype html><html><body style="margin:0;background:#222">
<video id="v" muted playsinline width="640" height="360"></video>
<script>
const v = document.getElementById("v");
const sizes = new Set();
async function segmentsOf(uri) {
  const text = await (await fetch(uri)).text();
  return {init: text.match(/#EXT-X-MAP:URI="([^"]+)"/)[1],
          segs: text.split("\n").filter(l => l && !l.startsWith("#"))};
}
async function append(sb, uri) {
  const data = await (await fetch(uri)).arrayBuffer();
  sb.appendBuffer(data);
  await new Promise((ok, fail) => { sb.onupdateend = ok; sb.onerror = fail; });
}
async function play(rungs, codecs, audio) {
  v.addEventListener("resize", () => sizes.add(v.videoWidth + "x" + v.videoHeight));
  const ms = new MediaSource();
  v.src = URL.createObjectURL(ms);
  await new Promise(ok => ms.addEventListener("sourceopen", ok, {once: true}));
  const lists = await Promise.all(rungs.map(segmentsOf));
  const vb = ms.addSourceBuffer('video/mp4; codecs="' + codecs[0] + '"');
  const a = await segmentsOf(audio);
  const ab = ms.addSourceBuffer('audio/mp4; codecs="mp4a.40.2"');
  for (const u of [a.init, ...a.segs]) await append(ab, u);
  let current = -1;
  for (let i = 0; i < lists[0].segs.length; i++) {
    const r = i % lists.length;
    if (r !== current) { await append(vb, lists[r].init); current = r; }
    await append(vb, lists[r].segs[i]);
  }
  ms.endOfStream();
  await v.play();
  return "playing";
}
</script></body></html>`

// TestLadderPlaysInChromium plays a ladder in headless Chromium through
// Media Source Extensions, switching rungs at every segment: the video
// must reach readyState >= 3 and its currentTime advance past several
// switches, with the decoder showing both rungs' sizes.
func TestLadderPlaysInChromium(t *testing.T) {
	for _, tc := range []struct {
		codec string
		opts  []string
	}{
		{"libx264", []string{"-preset", "veryfast"}},
		{"libvpx-vp9", []string{"-cpu-used", "8"}},
	} {
		t.Run(tc.codec, func(t *testing.T) { ladderPlays(t, tc.codec, tc.opts) })
	}
}

func ladderPlays(t *testing.T, codec string, opts []string) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("no chromium here (apt-get install chromium)")
	}
	src := testmedia.Generate(t, ladderSource)
	out := filepath.Join(t.TempDir(), "ladder")
	code, stdout, stderr := transcode(t, append([]string{"--local", "--json", "-q", src, "-o", out, "--ladder-codec", codec,
		"--ladder", "360p:800k,180p:250k", "--segment-duration", "2s", "--thumbnails", "0"}, opts...)...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	var sum job.LadderSummary
	require.NoError(t, json.Unmarshal([]byte(stdout), &sum), stdout)
	require.Len(t, sum.Rungs, 2)

	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(out)))
	mux.HandleFunc("/play.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, ladderPlayer)
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()

	chrome := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(660, 380),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chrome...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/play.html")))
	codecs, _, _ := strings.Cut(sum.Rungs[0].Codecs, ",")
	supported, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`MediaSource.isTypeSupported('video/mp4; codecs="%s"')`, codecs)))
	require.NoError(t, err)
	if !supported {
		t.Skipf("this Chromium does not take %s in Media Source Extensions", codecs)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`play(["%s", "%s"], ["%s"], "%s")`,
		sum.Rungs[0].Playlist, sum.Rungs[1].Playlist, codecs, sum.Audio[0].Playlist), chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Equal(t, "playing", state)
	type playback struct {
		ReadyState  int      `json:"readyState"`
		CurrentTime float64  `json:"currentTime"`
		Sizes       []string `json:"sizes"`
		Error       string   `json:"error"`
	}
	probe := `({readyState: v.readyState, currentTime: v.currentTime, sizes: [...sizes], error: v.error ? v.error.message : ""})`
	// Past the switches at 2, 4 and 6 s.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`v.readyState >= 3 && v.currentTime > 6.5 || v.error !== null`, chromedp.WithPollingTimeout(90*time.Second)))
	require.NoError(t, err)
	got, err := chromedp.Run(ctx, chromedp.Evaluate[playback](probe))
	require.NoError(t, err)
	t.Logf("playback: %+v", got)
	assert.Empty(t, got.Error)
	assert.GreaterOrEqual(t, got.ReadyState, 3)
	assert.Greater(t, got.CurrentTime, 6.5)
	assert.ElementsMatch(t, []string{"640x360", "320x180"}, got.Sizes, "the decoder showed both rungs")
	if shot := os.Getenv("DSWARM_LADDER_SCREENSHOT"); shot != "" {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(shot, png, 0o644))
	}
}

package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/dswarm/dswarm/job"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar draws one status line: segments done, frames, fps, ETA.
type progressBar struct {
	mu   sync.Mutex
	w    io.Writer
	last string
}

func newProgressBar(w io.Writer) *progressBar { return &progressBar{w: w} }

func (p *progressBar) update(st job.Status) {
	line := formatStatus(st)
	p.mu.Lock()
	defer p.mu.Unlock()
	if line == p.last {
		return
	}
	p.last = line
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}

func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last != "" {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// formatStatus renders a status line; pure, for tests.
func formatStatus(st job.Status) string {
	if st.Phase != "encode" || st.Frames == 0 {
		return fmt.Sprintf("%s...", st.Phase)
	}
	const width = 24
	filled := int(float64(width) * float64(st.FramesDone) / float64(st.Frames))
	filled = min(max(filled, 0), width)
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < filled {
			bar[i] = '#'
		}
	}
	fps := 0.0
	if s := st.Elapsed.Seconds(); s > 0 {
		fps = float64(st.FramesDone) / s
	}
	eta := "--:--"
	if fps > 0 && st.FramesDone < st.Frames {
		eta = formatDuration(time.Duration(float64(st.Frames-st.FramesDone) / fps * float64(time.Second)))
	}
	return fmt.Sprintf("[%s] segments %d/%d  frames %d/%d  %.0f fps  ETA %s",
		bar, st.SegmentsDone, st.Segments, st.FramesDone, st.Frames, fps, eta)
}

func formatDuration(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

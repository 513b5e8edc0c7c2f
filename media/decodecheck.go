package media

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// CheckJoins decodes the first frames after each join of path's first
// video stream (joins: the output times where a segment starts) and fails
// on the first join where the decoder reports damage. Frame counts cannot
// see this: segments whose encoders wrote different parameter sets join
// into a file with the right number of frames that decodes into garbage
// after the first join.
//
// Only lines logged by the video's decoder count (codec is the video
// stream's codec name): the demuxer also decodes a little of every other
// stream while it probes, and their complaints ("dvbsub: Junk in packet")
// are not the video's.
func CheckJoins(ctx context.Context, path string, joins []float64, codec string) error {
	decoders := append([]string{codec}, otherDecoders[codec]...)
	// The joins are checked side by side, one ffmpeg per CPU: each decodes
	// three frames, and its start-up is most of its time.
	errs := make([]error, len(joins))
	limit := make(chan struct{}, runtime.NumCPU())
	var wg sync.WaitGroup
	for i, t := range joins {
		wg.Add(1)
		limit <- struct{}{}
		go func() {
			defer func() { <-limit; wg.Done() }()
			errs[i] = checkJoin(ctx, path, t, decoders)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkJoin decodes the first frames after the join at t (seconds) and
// returns the first complaint of one of decoders.
func checkJoin(ctx context.Context, path string, t float64, decoders []string) error {
	// A millisecond in, so that the seek lands on the join's own keyframe
	// and the decoder starts there.
	at := strconv.FormatFloat(t+0.001, 'f', 6, 64)
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-v", "error",
		"-ss", at, "-i", path, "-map", "0:v:0", "-frames:v", "3", "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	line := ""
	for _, l := range strings.Split(stderr.String(), "\n") {
		if l = strings.TrimSpace(l); loggedBy(l, decoders) {
			line = l
			break
		}
	}
	if err != nil && line == "" {
		line = err.Error()
	}
	if line != "" {
		return fmt.Errorf("the video does not decode cleanly after the join at %.3f s: %s", t, cleanLine(line))
	}
	return nil
}

// otherDecoders are decoders whose name is not their codec's.
var otherDecoders = map[string][]string{
	"av1": {"libdav1d", "libaom-av1"},
	"vp8": {"libvpx"},
	"vp9": {"libvpx-vp9"},
}

// loggedBy reports whether an ffmpeg log line comes from one of the named
// codecs' contexts ("[dvbsub @ 0x...] ...").
func loggedBy(line string, codecs []string) bool {
	for _, c := range codecs {
		if strings.HasPrefix(line, "["+c+" @") {
			return true
		}
	}
	return false
}

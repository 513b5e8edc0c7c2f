package job

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/scheduler"
)

// Config is one transcode job as the user asked for it.
type Config struct {
	// JobID names the job's files and services; "" = a new random one.
	JobID  string
	Input  string
	Output string // "" = next to the input, as NAME.dswarm.EXT
	// TempDir holds segment files; "" = the output's directory, so that the
	// final rename never crosses filesystems.
	TempDir string
	// PartialDir is where the merge writes the output before it is verified
	// and moved into place; "" = the output's directory (an atomic rename).
	// Swarm jobs set it to the shared storage, where the merge task can write.
	PartialDir string
	Workers    int
	// SegmentThreads, when positive, is the encoder's -threads for each
	// segment unless the user gave one: with several encodes side by side
	// on a machine, each using every core only adds contention.
	SegmentThreads  int
	SegmentDuration time.Duration
	// Sizing, when set and SegmentDuration is 0, chooses the segment length
	// from the video's duration and Slots (see scheduler.SizingModel).
	Sizing     *scheduler.SizingModel
	Slots      int
	FFmpegArgs []string // output options, as given after INPUT
	KeepTemp   bool
	Overwrite  bool
	// OnePass keeps a -b:v target one-pass ABR in every segment instead of
	// the distributed two-pass (analysis, budget split, second pass).
	OnePass bool
	// Log receives warnings; nil discards them.
	Log io.Writer
	// Progress, when set, is called as work advances (from several goroutines).
	Progress func(Status)
	// OnSegment, when set, hears every change of a segment's state (from
	// several goroutines): the scheduler's job records and event stream.
	OnSegment func(SegmentEvent)
	// Done lists the segments an earlier run of this job (same JobID and
	// TempDir) finished; their files are checked again (frame count) and
	// kept, not re-encoded. Index -1 is the audio track.
	Done map[int]bool
}

// SegmentEvent is a change of one segment's state. Index -1 is the audio
// track.
type SegmentEvent struct {
	Index   int     `json:"index"`
	State   string  `json:"state"` // "running", "done", "failed"
	Node    string  `json:"node,omitempty"`
	Attempt int     `json:"attempt,omitempty"`
	Frames  int     `json:"frames"`
	Seconds float64 `json:"seconds,omitempty"`
	FPS     float64 `json:"fps,omitempty"`
	Reused  bool    `json:"reused,omitempty"` // kept from before a restart
	Error   string  `json:"error,omitempty"`
}

// Status is a snapshot of a running job for progress displays.
type Status struct {
	Phase        string // "probe", "analyse", "encode", "merge", "verify"
	SegmentsDone int
	Segments     int
	FramesDone   int64
	Frames       int64
	Elapsed      time.Duration
	// Rungs are a ladder job's renditions, each as far as it has come.
	Rungs []RungStatus
}

// RungStatus is one rung of a ladder job as it advances.
type RungStatus struct {
	Name    string `json:"name"` // "720p"
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Bitrate int64  `json:"bitrate"` // the target, bits per second
	// Encoded counts the frames the rung's encoders have made in their
	// last pass, Checked the frames counted in its finished tasks' files,
	// of Frames.
	Encoded int64 `json:"encoded"`
	Checked int64 `json:"checked"`
	Frames  int64 `json:"frames"`
}

// DefaultOutput is where the output goes when none is given: beside the
// input, as NAME.dswarm.EXT.
func DefaultOutput(input string) string {
	ext := filepath.Ext(input)
	if ext == "" {
		ext = ".mkv"
	}
	return strings.TrimSuffix(input, filepath.Ext(input)) + ".dswarm" + ext
}

func (c *Config) normalize() error {
	if c.Input == "" {
		return errors.New("no input given")
	}
	if c.Output == "" {
		c.Output = DefaultOutput(c.Input)
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.SegmentDuration <= 0 && c.Sizing == nil {
		c.SegmentDuration = 10 * time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	in, err := filepath.Abs(c.Input)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(c.Output)
	if err != nil {
		return err
	}
	if in == out {
		return fmt.Errorf("output %s is the input; choose another -o", c.Output)
	}
	c.Input, c.Output = in, out
	for _, d := range []*string{&c.TempDir, &c.PartialDir} {
		if *d != "" {
			if *d, err = filepath.Abs(*d); err != nil {
				return err
			}
		}
	}
	if filepath.Ext(out) == "" {
		return fmt.Errorf("output %s has no extension; ffmpeg chooses the container from it", c.Output)
	}
	return media.CheckOutputName(out)
}

// NewJobID returns a short random id: timestamps to the second collide
// when two jobs start together.
func NewJobID() string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// checkInput gives a one-line reason for inputs ffprobe would only call
// "invalid data".
func checkInput(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("input %s: no such file", path)
	}
	if err != nil {
		return fmt.Errorf("input %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("input %s: is a directory", path)
	}
	if st.Size() == 0 {
		return fmt.Errorf("input %s: empty file", path)
	}
	return nil
}

// prepareOutput checks that the output may be written and creates the
// partial file the merge writes before the final move.
func prepareOutput(output, partialDir, id string, overwrite bool) (string, error) {
	if _, err := os.Stat(output); err == nil && !overwrite {
		return "", fmt.Errorf("output %s already exists (pass --overwrite or -y to replace it)", output)
	}
	dir := filepath.Dir(output)
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("output directory %s: %w", dir, unwrapPath(err))
	}
	if !st.IsDir() {
		return "", fmt.Errorf("output directory %s: not a directory", dir)
	}
	name := ".dswarm-" + id + "-" + filepath.Base(output)
	probe := filepath.Join(dir, name)
	// A file of this job's own id is left from an earlier run of the same
	// job (a scheduler restarted mid-job): it is ours to replace.
	os.Remove(probe)
	if partialDir != "" {
		os.Remove(filepath.Join(partialDir, name))
	}
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("output directory %s is not writable: %w", dir, unwrapPath(err))
	}
	f.Close()
	if partialDir == "" || partialDir == dir {
		return probe, nil
	}
	os.Remove(probe)
	partial := filepath.Join(partialDir, name)
	f, err = os.OpenFile(partial, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("partial output in %s: %w", partialDir, unwrapPath(err))
	}
	f.Close()
	return partial, nil
}

// moveFile renames src to dst; across filesystems it copies into a hidden
// file beside dst and renames that, so dst is never seen half-written.
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".dswarm-move-*"+filepath.Ext(dst))
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Remove(src)
}

// unwrapPath drops the *PathError wrapper whose path the message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

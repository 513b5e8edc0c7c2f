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
	"time"
)

// Config is one transcode job as the user asked for it.
type Config struct {
	Input  string
	Output string // "" = next to the input, as NAME.dswarm.EXT
	// TempDir holds segment files; "" = the output's directory, so that the
	// final rename never crosses filesystems.
	TempDir         string
	Workers         int
	SegmentDuration time.Duration
	FFmpegArgs      []string // output options, as given after INPUT
	KeepTemp        bool
	Overwrite       bool
	// Log receives warnings; nil discards them.
	Log io.Writer
	// Progress, when set, is called as work advances (from several goroutines).
	Progress func(Status)
}

// Status is a snapshot of a running job for progress displays.
type Status struct {
	Phase        string // "probe", "encode", "merge", "verify"
	SegmentsDone int
	Segments     int
	FramesDone   int64
	Frames       int64
	Elapsed      time.Duration
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
	if c.SegmentDuration <= 0 {
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
	if c.TempDir != "" {
		if c.TempDir, err = filepath.Abs(c.TempDir); err != nil {
			return err
		}
	}
	if filepath.Ext(out) == "" {
		return fmt.Errorf("output %s has no extension; ffmpeg chooses the container from it", c.Output)
	}
	return nil
}

// newJobID returns a short random id: timestamps to the second collide
// when two jobs start together.
func newJobID() string {
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

// prepareOutput checks that the output may be written and returns the path
// of the partial file the merge writes before the final rename.
func prepareOutput(output, id string, overwrite bool) (string, error) {
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
	partial := filepath.Join(dir, ".dswarm-"+id+"-"+filepath.Base(output))
	f, err := os.OpenFile(partial, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("output directory %s is not writable: %w", dir, unwrapPath(err))
	}
	f.Close()
	return partial, nil
}

// unwrapPath drops the *PathError wrapper whose path the message already names.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

package media

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
)

// Preflight runs a short ffmpeg encode with args and returns the encoder
// ffmpeg chose for each output stream (by output stream index), read from
// its "Stream mapping" report. An error carries ffmpeg's own last line.
// It runs in the sandbox s (nil: an ordinary child process); its output
// belongs in s.Path.
func (s *Sandbox) Preflight(ctx context.Context, args []string) (map[int]string, error) {
	// level+info tags every line with its level, so that the error lines
	// can be told from the informational ones the mapping needs.
	full := append([]string{"-nostdin", "-hide_banner", "-nostats", "-v", "level+info"}, args...)
	cmd := s.command(ctx, "ffmpeg", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, toolError(ctx, "ffmpeg", err, errorLines(stderr.String()))
	}
	return ParseStreamMapping(stderr.String()), nil
}

// errorLines keeps the lines ffmpeg tagged [error] or [fatal], without tags.
func errorLines(stderr string) *tailWriter {
	tail := &tailWriter{max: 20}
	for _, line := range strings.Split(stderr, "\n") {
		for _, tag := range []string{"[error] ", "[fatal] "} {
			if i := strings.Index(line, tag); i >= 0 {
				tail.Write([]byte(line[:i] + line[i+len(tag):] + "\n"))
			}
		}
	}
	return tail
}

// "Stream #0:1 -> #0:1 (aac (native) -> vorbis (libvorbis))"
var mappingRE = regexp.MustCompile(`Stream #\d+:\d+ -> #\d+:(\d+) \(.* -> (\S+) \((\S+)\)\)`)

// ParseStreamMapping reads ffmpeg's "Stream mapping" lines and returns the
// encoder of each transcoded output stream; "native" becomes the codec name,
// which is also the native encoder's name.
func ParseStreamMapping(stderr string) map[int]string {
	out := map[int]string{}
	for _, m := range mappingRE.FindAllStringSubmatch(stderr, -1) {
		idx, err := strconv.Atoi(m[1])
		if err != nil {
			continue
		}
		enc := m[3]
		if enc == "native" {
			enc = m[2]
		}
		out[idx] = enc
	}
	return out
}

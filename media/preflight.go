package media

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strconv"
)

// Preflight runs a short ffmpeg encode with args and returns the encoder
// ffmpeg chose for each output stream (by output stream index), read from
// its "Stream mapping" report. An error carries ffmpeg's own last line.
func Preflight(ctx context.Context, args []string) (map[int]string, error) {
	full := append([]string{"-nostdin", "-hide_banner", "-nostats", "-v", "info"}, args...)
	cmd := exec.CommandContext(ctx, "ffmpeg", full...)
	var stderr bytes.Buffer
	tail := &tailWriter{max: 20}
	cmd.Stderr = multiWriter{&stderr, tail}
	if err := cmd.Run(); err != nil {
		return nil, toolError(ctx, "ffmpeg", err, tail)
	}
	return ParseStreamMapping(stderr.String()), nil
}

type multiWriter []interface{ Write([]byte) (int, error) }

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		w.Write(p)
	}
	return len(p), nil
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

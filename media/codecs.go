package media

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// HEVCCodecs is the RFC 6381 codecs string of an HEVC stream in fMP4
// (hvc1) from its profile and level as ffprobe names them: ffmpeg 5.1's
// DASH muxer writes only "hvc1", which players cannot judge. The
// compatibility flags and constraint byte are those of a progressive,
// frame-coded Main or Main 10 stream (what libx265 makes here): "6"/"4",
// "B0".
func HEVCCodecs(profile string, level int) (string, error) {
	switch profile {
	case "Main":
		return fmt.Sprintf("hvc1.1.6.L%d.B0", level), nil
	case "Main 10":
		return fmt.Sprintf("hvc1.2.4.L%d.B0", level), nil
	}
	return "", fmt.Errorf("HEVC profile %q: no codecs string known", profile)
}

// VideoProfile reads the first video stream's profile and level.
func VideoProfile(ctx context.Context, path string) (profile string, level int, err error) {
	out, err := runTool(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=profile,level",
		"-of", "default=noprint_wrappers=1", "--", path)
	if err != nil {
		return "", 0, err
	}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "profile":
			profile = v
		case "level":
			level, _ = strconv.Atoi(v)
		}
	}
	return profile, level, nil
}

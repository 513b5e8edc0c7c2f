package media

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// HDR10 static metadata: the mastering display's colour volume and the
// content light level. Decoders put them on frames as side data; a
// single-pass ffmpeg 5.1 encode drops them, and so would every segment's
// encoder. dswarm reads them from the source's first frame and gives them
// to every segment's encoder, so that an HDR10 source stays HDR10.

// Mastering is the mastering display's colour volume: chromaticities in
// units of 1/50000, luminances in units of 1/10000 cd/m², as H.265's SEI
// and x265 express them.
type Mastering struct {
	RX, RY, GX, GY, BX, BY, WX, WY int64
	MaxLum, MinLum                 int64
}

// LightLevel is the content light level in cd/m².
type LightLevel struct{ MaxCLL, MaxFALL int }

// FirstFrame is what the first decoded video frame says of itself.
type FirstFrame struct {
	Interlaced    bool
	TopFieldFirst bool
	Mastering     *Mastering
	LightLevel    *LightLevel
}

// ProbeFirstFrame decodes the first frame of stream index in path.
func ProbeFirstFrame(ctx context.Context, path string, index int) (FirstFrame, error) {
	out, err := runTool(ctx, "ffprobe", "-v", "error", "-select_streams", strconv.Itoa(index),
		"-read_intervals", "%+#1", "-show_frames",
		"-show_entries", "frame=interlaced_frame,top_field_first:frame_side_data", "-of", "json", "--", path)
	if err != nil {
		return FirstFrame{}, err
	}
	return ParseFirstFrame(out)
}

// ParseFirstFrame parses `ffprobe -show_frames -of json` of one frame.
func ParseFirstFrame(data []byte) (FirstFrame, error) {
	var pj struct {
		Frames []struct {
			Interlaced int               `json:"interlaced_frame"`
			TopFirst   int               `json:"top_field_first"`
			SideData   []json.RawMessage `json:"side_data_list"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return FirstFrame{}, fmt.Errorf("parse ffprobe frame json: %w", err)
	}
	var f FirstFrame
	if len(pj.Frames) == 0 {
		return f, nil
	}
	fr := pj.Frames[0]
	f.Interlaced, f.TopFieldFirst = fr.Interlaced == 1, fr.TopFirst == 1
	for _, raw := range fr.SideData {
		var sd map[string]any
		if err := json.Unmarshal(raw, &sd); err != nil {
			continue
		}
		switch sd["side_data_type"] {
		case "Mastering display metadata":
			m := Mastering{}
			ok := true
			for _, v := range []struct {
				key   string
				dst   *int64
				scale int64
			}{
				{"red_x", &m.RX, 50000}, {"red_y", &m.RY, 50000}, {"green_x", &m.GX, 50000},
				{"green_y", &m.GY, 50000}, {"blue_x", &m.BX, 50000}, {"blue_y", &m.BY, 50000},
				{"white_point_x", &m.WX, 50000}, {"white_point_y", &m.WY, 50000},
				{"max_luminance", &m.MaxLum, 10000}, {"min_luminance", &m.MinLum, 10000},
			} {
				n, good := scaled(sd[v.key], v.scale)
				ok = ok && good
				*v.dst = n
			}
			if ok && m.MaxLum > 0 {
				f.Mastering = &m
			}
		case "Content light level metadata":
			c, okc := sd["max_content"].(float64)
			a, oka := sd["max_average"].(float64)
			if okc && oka && (c > 0 || a > 0) {
				f.LightLevel = &LightLevel{MaxCLL: int(c), MaxFALL: int(a)}
			}
		}
	}
	return f, nil
}

// scaled reads ffprobe's "num/den" and expresses it in units of 1/scale.
func scaled(v any, scale int64) (int64, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	r, err := ParseRational(s)
	if err != nil || r.Den == 0 {
		return 0, false
	}
	return (r.Num*scale + r.Den/2) / r.Den, true
}

// HDRParams returns the encoder parameter option and the keys that carry
// the metadata into encoder's stream ("" when the encoder has none).
func HDRParams(encoder string, m *Mastering, l *LightLevel) (option string, keys []string) {
	if m == nil && l == nil {
		return "", nil
	}
	switch encoder {
	case "libx265":
		keys = append(keys, "hdr10=1")
		if m != nil {
			keys = append(keys, "master-display="+m.x265())
		}
		if l != nil {
			keys = append(keys, fmt.Sprintf("max-cll=%d,%d", l.MaxCLL, l.MaxFALL))
		}
		return "x265-params", keys
	case "libx264":
		if m != nil {
			keys = append(keys, "mastering-display="+m.x265())
		}
		if l != nil {
			keys = append(keys, fmt.Sprintf("cll=%d,%d", l.MaxCLL, l.MaxFALL))
		}
		return "x264-params", keys
	case "libsvtav1":
		if m != nil {
			keys = append(keys, "mastering-display="+m.svt())
		}
		if l != nil {
			keys = append(keys, fmt.Sprintf("content-light=%d,%d", l.MaxCLL, l.MaxFALL))
		}
		return "svtav1-params", keys
	}
	return "", nil
}

// x265 is the G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min) string of x265 and x264.
func (m Mastering) x265() string {
	return fmt.Sprintf("G(%d,%d)B(%d,%d)R(%d,%d)WP(%d,%d)L(%d,%d)",
		m.GX, m.GY, m.BX, m.BY, m.RX, m.RY, m.WX, m.WY, m.MaxLum, m.MinLum)
}

// svt is the same string with SVT-AV1's real numbers.
func (m Mastering) svt() string {
	c := func(v int64) string { return strconv.FormatFloat(float64(v)/50000, 'f', 5, 64) }
	l := func(v int64) string { return strconv.FormatFloat(float64(v)/10000, 'f', 4, 64) }
	return fmt.Sprintf("G(%s,%s)B(%s,%s)R(%s,%s)WP(%s,%s)L(%s,%s)",
		c(m.GX), c(m.GY), c(m.BX), c(m.BY), c(m.RX), c(m.RY), c(m.WX), c(m.WY), l(m.MaxLum), l(m.MinLum))
}

// AddEncoderParams adds keys to the encoder parameter option (e.g.
// "x265-params") in the video options: appended to the user's own list
// when there is one, leaving out keys the user set, else as a new option.
func AddEncoderParams(video []string, option string, keys []string) []string {
	if option == "" || len(keys) == 0 {
		return video
	}
	out := append([]string(nil), video...)
	// The options come in name, value pairs; ffmpeg honours the last.
	last := -1
	for i := 0; i+1 < len(out); i += 2 {
		if name, _, _ := strings.Cut(strings.TrimPrefix(out[i], "-"), ":"); name == option {
			last = i
		}
	}
	if last >= 0 {
		have := map[string]bool{}
		for _, kv := range strings.Split(out[last+1], ":") {
			k, _, _ := strings.Cut(kv, "=")
			have[k] = true
		}
		for _, kv := range keys {
			if k, _, _ := strings.Cut(kv, "="); !have[k] {
				out[last+1] += ":" + kv
			}
		}
		return out
	}
	return append(out, "-"+option, strings.Join(keys, ":"))
}

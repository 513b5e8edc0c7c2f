package media

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Rung is one rendition of an ABR ladder: a frame height and a video
// bitrate. Width is derived from the source's shape (FitLadder).
type Rung struct {
	Height int
	Width  int // 0 until FitLadder sets it
	// SAR is the pixel shape that keeps the source's display aspect
	// exactly at the even width (854x480 of a 16:9 source is 1280:1281):
	// DASH puts rungs in one adaptation set only when their aspects agree.
	SAR     Rational
	Bitrate int64 // video bits per second over the title
}

// LadderSpec writes rungs as one inline spec ParseLadder reads back, e.g.
// "720p:3000k,360p:600k" (a spec file's comments and lines gone).
func LadderSpec(rungs []Rung) string {
	var parts []string
	for _, r := range rungs {
		parts = append(parts, fmt.Sprintf("%s:%dk", r.Name(), (r.Bitrate+500)/1000))
	}
	return strings.Join(parts, ",")
}

// Name is the rung as the spec writes it, e.g. "720p".
func (r Rung) Name() string { return strconv.Itoa(r.Height) + "p" }

// MaxRate is the cap of the rung's capped VBR (-maxrate): the peak a player
// is promised in the playlist's BANDWIDTH, before audio.
func (r Rung) MaxRate() int64 { return r.Bitrate * 3 / 2 }

// BufSize is the rung's VBV buffer (-bufsize): two seconds at the target,
// so that the peak over any two packaged segments stays near MaxRate.
func (r Rung) BufSize() int64 { return r.Bitrate * 2 }

// DefaultLadderSpec is what --ladder default means, before the rungs above
// the source are dropped.
const DefaultLadderSpec = "1080p:5M,720p:3M,480p:1.2M,360p:600k,240p:300k"

// ParseLadder reads a ladder spec: "default", or rungs "HEIGHTp:RATE"
// separated by commas, spaces or new lines (a spec file's form), e.g.
// "720p:3M,480p:1.2M,360p:600k". Rates take k and M suffixes as ffmpeg's
// -b:v does. Rungs come back tallest first; two rungs of one height are
// refused.
func ParseLadder(spec string) ([]Rung, error) {
	var lines []string
	for _, l := range strings.Split(spec, "\n") {
		l, _, _ = strings.Cut(l, "#") // a spec file's comments
		lines = append(lines, l)
	}
	spec = strings.TrimSpace(strings.Join(lines, "\n"))
	if spec == "default" {
		spec = DefaultLadderSpec
	}
	fields := strings.FieldsFunc(spec, func(c rune) bool {
		return c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r'
	})
	if len(fields) == 0 {
		return nil, fmt.Errorf("ladder %q: no rungs (write e.g. 720p:3M,480p:1.2M or default)", spec)
	}
	var rungs []Rung
	seen := map[int]bool{}
	for _, f := range fields {
		size, rate, ok := strings.Cut(f, ":")
		if !ok {
			return nil, fmt.Errorf("ladder rung %q: want HEIGHTp:BITRATE, e.g. 720p:3M", f)
		}
		h, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(size), "p"))
		if err != nil || !strings.HasSuffix(strings.ToLower(size), "p") || h < 16 || h > 4320 {
			return nil, fmt.Errorf("ladder rung %q: height %q is not one of 16p..4320p", f, size)
		}
		if h%2 != 0 {
			return nil, fmt.Errorf("ladder rung %q: height must be even (4:2:0 video)", f)
		}
		bits, err := parseBitrate(rate)
		if err != nil {
			return nil, fmt.Errorf("ladder rung %q: %w", f, err)
		}
		if seen[h] {
			return nil, fmt.Errorf("ladder rung %q: %dp is given twice", f, h)
		}
		seen[h] = true
		rungs = append(rungs, Rung{Height: h, Bitrate: bits})
	}
	if len(rungs) == 0 {
		return nil, fmt.Errorf("ladder %q: no rungs", spec)
	}
	sort.Slice(rungs, func(i, j int) bool { return rungs[i].Height > rungs[j].Height })
	return rungs, nil
}

// parseBitrate reads "600k", "1.2M", "3000000".
func parseBitrate(s string) (int64, error) {
	mult := 1.0
	num := s
	switch {
	case strings.HasSuffix(s, "k") || strings.HasSuffix(s, "K"):
		mult, num = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, num = 1e6, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("bitrate %q: want a positive number with k or M, e.g. 1.2M", s)
	}
	bits := int64(math.Round(v * mult))
	if bits < 16000 || bits > 500e6 {
		return 0, fmt.Errorf("bitrate %q: outside 16k..500M", s)
	}
	return bits, nil
}

// FitLadder keeps the rungs no taller than the source (a rung above it would
// only upscale) and gives each the source's shape: an even width at the
// rung's height, and the pixel shape that keeps its aspect exact. Each dropped rung gets a note. When every
// rung is above the source, the smallest one is kept at the source's own
// height, so that a small source still gets a ladder of one.
func FitLadder(rungs []Rung, srcW, srcH int, sar Rational) (kept []Rung, notes []string, err error) {
	if srcW <= 0 || srcH <= 0 {
		return nil, nil, fmt.Errorf("source frame size %dx%d unknown", srcW, srcH)
	}
	// The display shape: a non-square source is shown at width*sar.
	dispW := float64(srcW)
	if !sar.IsZero() && sar.Num != sar.Den {
		dispW = float64(srcW) * sar.Float()
	}
	evenH := srcH &^ 1
	for _, r := range rungs {
		if r.Height > srcH {
			notes = append(notes, fmt.Sprintf("ladder rung %s dropped: the source is only %dp", r.Name(), srcH))
			continue
		}
		kept = append(kept, r)
	}
	if len(kept) == 0 {
		r := rungs[len(rungs)-1]
		r.Height = evenH
		notes = append(notes, fmt.Sprintf("every ladder rung is taller than the source; one rung at its %dp, %s", evenH, FormatBitrate(r.Bitrate)))
		kept = []Rung{r}
	}
	sarN, sarD := int64(1), int64(1)
	if !sar.IsZero() {
		sarN, sarD = sar.Num, sar.Den
	}
	for i := range kept {
		h := kept[i].Height
		w := max(int(math.Round(dispW*float64(h)/float64(srcH)/2))*2, 2)
		kept[i].Width = w
		// w*sar/h = srcW*srcSAR/srcH
		n, d := int64(srcW)*sarN*int64(h), int64(w)*sarD*int64(srcH)
		g := gcd(n, d)
		kept[i].SAR = Rational{Num: n / g, Den: d / g}
	}
	return kept, notes, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// FormatBitrate writes bits per second as ffmpeg reads them: "1200k".
func FormatBitrate(bits int64) string {
	if bits%1000 == 0 {
		return strconv.FormatInt(bits/1000, 10) + "k"
	}
	return strconv.FormatInt(bits, 10)
}

// LadderCodec is what a ladder's encoder needs beyond its name: the tag
// that CMAF (fMP4) wants for it, the options that keep its keyframes only
// where dswarm forces them (and every GOP closed) and its tasks' encodes
// joinable, and how it runs two passes.
type LadderCodec struct {
	Encoder string
	Tag     string // -tag:v for fMP4
	Decoder string // the codec's name, whose decoder verify listens to
	// Defaults go before the user's options, which may override them;
	// Options go after, and hold what alignment and joining need.
	Defaults []string
	Options  []string
	// ParamsOption and Params are the encoder's own parameters
	// (-x264-params stitchable=1); passes add theirs to them.
	ParamsOption string
	Params       []string
	// StatsParams: the passes go in Params (pass=N:stats=FILE, as
	// libx265 takes them) instead of ffmpeg's -pass and -passlogfile.
	StatsParams bool
}

// LadderCodecs are the encoders a ladder can use.
var LadderCodecs = map[string]LadderCodec{
	// stitchable: the tasks' encodes join into one stream, which keeps
	// the first task's parameter sets only (see Joinable).
	"libx264": {Encoder: "libx264", Tag: "avc1", Decoder: "h264", Options: []string{"-sc_threshold", "0", "-forced-idr", "1"},
		ParamsOption: "-x264-params", Params: []string{"stitchable=1"}},
	"libx265": {Encoder: "libx265", Tag: "hvc1", Decoder: "hevc", Options: []string{"-forced-idr", "1"},
		ParamsOption: "-x265-params", Params: []string{"scenecut=0", "open-gop=0", "log-level=error"}, StatsParams: true},
	// libvpx places keyframes only at -g and where forced (no scene cuts
	// with -g as long as a packaged segment), and its frames join as they
	// are. Its default speed (-cpu-used 0) is far slower than the others'.
	"libvpx-vp9": {Encoder: "libvpx-vp9", Tag: "vp09", Decoder: "vp9", Defaults: []string{"-deadline", "good", "-cpu-used", "4"},
		Options: []string{"-row-mt", "1"}},
}

// args are the codec's options for one rung in pass (0: a single pass),
// with the pass's statistics in log.
func (c LadderCodec) args(pass int, log string) []string {
	args := append([]string(nil), c.Options...)
	params := append([]string(nil), c.Params...)
	if pass > 0 && c.StatsParams {
		params = append(params, "pass="+strconv.Itoa(pass), "stats="+log)
	}
	if len(params) > 0 {
		args = append(args, c.ParamsOption, strings.Join(params, ":"))
	}
	if pass > 0 && !c.StatsParams {
		args = append(args, "-pass", strconv.Itoa(pass), "-passlogfile", log)
	}
	return args
}

// LadderCommand is one segment task of a ladder: it decodes its part of
// the source once, splits the frames, and scales and encodes every rung
// from that one decode, each into a file of its own.
type LadderCommand struct {
	Input       string
	VideoStream int
	TimeBase    Rational
	Seek        int64 // keyframe pts to seek to, or NoSeekPTS
	StartPTS    int64
	EndPTS      int64 // exclusive; ignored when Last
	Last        bool
	// KeyTimes are the seconds from the segment's first frame at which a
	// packaged segment starts: every rung gets a keyframe there.
	KeyTimes []string
	// GOP is the longest run of frames without a keyframe (-g); a packaged
	// segment's length in frames, so that no encoder adds one mid-segment.
	GOP     int
	Codec   LadderCodec
	Options []string // the user's encoder options (-preset, -tune, ...)
	Rungs   []Rung
	Outputs []string // one per rung
	Threads int      // 0 = the encoder's default
	// Pass is 0 for a single pass; 1 or 2 for the encoder's own passes
	// over the task's frames (pass 1 writes only PassLogs), which meet
	// each rung's bitrate over the task where one pass misses it by up
	// to several percent on a few seconds.
	Pass     int
	PassLogs []string // one per rung, with Pass
	// Thumbs are the task's frames (counted from its first) that become
	// thumbnails, ThumbSize x ThumbHeight JPEGs written to ThumbPattern
	// (an image2 pattern) numbered from ThumbStart; not in a first pass.
	Thumbs                  []int
	ThumbWidth, ThumbHeight int
	ThumbStart              int
	ThumbPattern            string
}

// thumbs reports whether this run writes thumbnails.
func (c LadderCommand) thumbs() bool { return len(c.Thumbs) > 0 && c.Pass != 1 }

// Args is the ffmpeg argument list of the task. The filter graph is
// dswarm's own (trim, split, scale): the user-option allowlist refuses
// -filter_complex, and the ladder needs no user filter.
func (c LadderCommand) Args() []string {
	args := []string{"-y", "-copyts", "-noaccurate_seek", "-seek_timestamp", "1"}
	if c.Seek != NoSeekPTS {
		args = append(args, "-ss", c.TimeBase.SecondsArg(c.Seek))
	}
	trim := "trim=start_pts=" + strconv.FormatInt(c.StartPTS, 10)
	if !c.Last {
		trim += ":end_pts=" + strconv.FormatInt(c.EndPTS, 10)
	}
	var g strings.Builder
	branches := len(c.Rungs)
	if c.thumbs() {
		branches++
	}
	fmt.Fprintf(&g, "[0:%d]settb=expr=%s,%s,setpts=PTS-STARTPTS,split=%d", c.VideoStream, c.TimeBase, trim, branches)
	for i := range branches {
		fmt.Fprintf(&g, "[s%d]", i)
	}
	if c.thumbs() {
		var sel []string
		for _, n := range c.Thumbs {
			sel = append(sel, "eq(n,"+strconv.Itoa(n)+")")
		}
		// Quoted: the expression's commas are not the graph's.
		fmt.Fprintf(&g, ";[s%d]select='%s',scale=%d:%d,setsar=1,format=yuvj420p[thumbs]", len(c.Rungs), strings.Join(sel, "+"), c.ThumbWidth, c.ThumbHeight)
	}
	for i, r := range c.Rungs {
		sar := r.SAR
		if sar.IsZero() {
			sar = Rational{Num: 1, Den: 1}
		}
		// setsar evaluates r as a number and rounds it to a fraction of
		// terms up to max: 1280/1281 needs max 1281.
		fmt.Fprintf(&g, ";[s%d]scale=%d:%d,setsar=r=%d/%d:max=%d,format=yuv420p[v%d]", i, r.Width, r.Height, sar.Num, sar.Den, max(sar.Num, sar.Den, 100), i)
	}
	args = append(args, "-i", c.Input, "-filter_complex", g.String())
	for i, r := range c.Rungs {
		args = append(args, "-map", fmt.Sprintf("[v%d]", i), "-an", "-sn", "-dn", "-fps_mode", "passthrough",
			"-c:v", c.Codec.Encoder)
		if c.Threads > 0 {
			args = append(args, "-threads", strconv.Itoa(c.Threads))
		}
		args = append(args, c.Codec.Defaults...)
		args = append(args, c.Options...)
		args = append(args,
			"-b:v", strconv.FormatInt(r.Bitrate, 10),
			"-maxrate", strconv.FormatInt(r.MaxRate(), 10),
			"-bufsize", strconv.FormatInt(r.BufSize(), 10),
			"-g", strconv.Itoa(max(c.GOP, 1)))
		log := ""
		if c.Pass > 0 {
			log = c.PassLogs[i]
		}
		args = append(args, c.Codec.args(c.Pass, log)...)
		if len(c.KeyTimes) > 0 {
			args = append(args, "-force_key_frames", strings.Join(c.KeyTimes, ","))
		}
		if c.Pass == 1 {
			args = append(args, "-f", "null", "-")
			continue
		}
		args = append(args, "-f", "nut", c.Outputs[i])
	}
	if c.thumbs() {
		args = append(args, "-map", "[thumbs]", "-an", "-sn", "-dn", "-fps_mode", "passthrough",
			"-c:v", "mjpeg", "-q:v", "4", "-f", "image2", "-start_number", strconv.Itoa(c.ThumbStart), c.ThumbPattern)
	}
	return args
}

// SpriteCommand tiles the thumbnails (an image2 pattern numbered from 0)
// into one sprite sheet of Columns.
type SpriteCommand struct {
	Pattern       string
	Count         int
	Columns, Rows int
	Output        string
}

// Args is the ffmpeg argument list.
func (c SpriteCommand) Args() []string {
	return []string{"-y", "-f", "image2", "-start_number", "0", "-i", c.Pattern,
		"-frames:v", "1", "-vf", fmt.Sprintf("tile=%dx%d", c.Columns, c.Rows), "-q:v", "4", c.Output}
}

// ThumbnailVTT is the WebVTT thumbnail track of a sprite: thumbnail k
// shows from starts[k] to the next start (the last to end), as the tile at
// its place in the sprite (URI#xywh=...), as players' scrub bars read it.
func ThumbnailVTT(sprite string, starts []float64, end float64, columns, w, h int) string {
	var b strings.Builder
	b.WriteString("WEBVTT\n")
	for k, t := range starts {
		next := end
		if k+1 < len(starts) {
			next = starts[k+1]
		}
		fmt.Fprintf(&b, "\n%s --> %s\n%s#xywh=%d,%d,%d,%d\n", vttTime(t), vttTime(next), sprite, k%columns*w, k/columns*h, w, h)
	}
	return b.String()
}

func vttTime(sec float64) string {
	ms := int64(math.Round(sec * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// LadderAudioCommand encodes each audio track the ladder keeps once, as
// AAC stereo at Bitrate, each into an MP4 of its own.
type LadderAudioCommand struct {
	Input   string
	Streams []int // absolute stream indexes
	Bitrate int64
	Outputs []string
}

// Args is the ffmpeg argument list of the audio task.
func (c LadderAudioCommand) Args() []string {
	args := []string{"-y", "-i", c.Input}
	for i, s := range c.Streams {
		args = append(args, "-map", "0:"+strconv.Itoa(s), "-vn", "-sn", "-dn",
			"-c:a", "aac", "-b:a", strconv.FormatInt(c.Bitrate, 10), "-ac", "2",
			"-f", "mp4", c.Outputs[i])
	}
	return args
}

// PackageCommand joins each rung's segments (stream copy, through the
// concat lists) and packages them with the audio as CMAF: fMP4 init and
// media segments that both the DASH manifest and the HLS playlists name.
type PackageCommand struct {
	Lists       []string // one concat list per rung
	VideoOffset string   // seconds from the file's start to the first frame
	Audio       []string // one MP4 per audio track
	Tag         string   // -tag:v
	SegmentSecs string   // packaged segment length
	Manifest    string   // the .mpd; playlists and segments go beside it
}

// Args is the ffmpeg argument list of the packaging.
func (c PackageCommand) Args() []string {
	args := []string{"-y"}
	for _, l := range c.Lists {
		if c.VideoOffset != "" && c.VideoOffset != "0.000000" {
			args = append(args, "-itsoffset", c.VideoOffset)
		}
		args = append(args, "-f", "concat", "-safe", "0", "-i", l)
	}
	for _, a := range c.Audio {
		args = append(args, "-i", a)
	}
	sets := []string{"id=0,streams=v"}
	for i := range c.Lists {
		args = append(args, "-map", strconv.Itoa(i)+":v:0")
	}
	for i := range c.Audio {
		n := len(c.Lists) + i
		args = append(args, "-map", strconv.Itoa(n)+":a:0")
		// One adaptation set per audio track: they are alternatives
		// (languages), not bitrates of one.
		sets = append(sets, fmt.Sprintf("id=%d,streams=%d", i+1, n))
	}
	args = append(args, "-c", "copy", "-tag:v", c.Tag,
		// fMP4 (CMAF) for every codec: the muxer's own choice for VP9
		// is WebM, which HLS does not take.
		"-f", "dash", "-dash_segment_type", "mp4", "-seg_duration", c.SegmentSecs,
		"-use_template", "1", "-use_timeline", "1",
		"-hls_playlist", "1",
		"-adaptation_sets", strings.Join(sets, " "),
		"-init_seg_name", "init-$RepresentationID$.$ext$",
		"-media_seg_name", "seg-$RepresentationID$-$Number%05d$.$ext$",
		c.Manifest)
	return args
}

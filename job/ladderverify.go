package job

import (
	"context"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/dswarm/dswarm/media"
)

// LadderSummary is the account of a finished ladder job (--json).
type LadderSummary struct {
	JobID    string `json:"job_id"`
	Executor string `json:"executor"`
	Input    string `json:"input"`
	Output   string `json:"output"`
	Codec    string `json:"video_codec"`
	// SegmentSeconds is the packaged segments' target length.
	SegmentSeconds   float64       `json:"segment_duration"`
	PackagedSegments int           `json:"packaged_segments"`
	SourceFrames     int           `json:"source_frames"`
	SourceDuration   float64       `json:"source_duration"`
	Rungs            []RungSummary `json:"rungs"`
	Audio            []LadderAudio `json:"audio,omitempty"`
	// Subtitles are the WebVTT files, one per text subtitle stream.
	Subtitles []string `json:"subtitles,omitempty"`
	// Thumbnails is the sprite and its WebVTT track, when made.
	Thumbnails  *LadderThumbnails `json:"thumbnails,omitempty"`
	Tasks       []SegmentSummary  `json:"tasks"`
	WallSeconds float64           `json:"wall_seconds"`
	TempDir     string            `json:"temp_dir,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
}

// RungSummary is one video rendition as verified.
type RungSummary struct {
	Name     string `json:"name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Playlist string `json:"playlist"`
	Codecs   string `json:"codecs"`
	Frames   int    `json:"frames"`
	Segments int    `json:"segments"`
	// TargetBitrate and Bitrate are the video's bits per second asked and
	// made over the title; BitrateError is (made-target)/target.
	TargetBitrate int64   `json:"target_bitrate"`
	Bitrate       float64 `json:"bitrate"`
	BitrateError  float64 `json:"bitrate_error"`
	// PeakSegment and PeakWindow are the highest bitrate of one packaged
	// segment and of any two consecutive ones, video and audio.
	PeakSegment float64 `json:"peak_segment_bitrate"`
	PeakWindow  float64 `json:"peak_2segment_bitrate"`
	// Bandwidth and AverageBandwidth are what the master playlist
	// declares (video and audio).
	Bandwidth        int64 `json:"bandwidth"`
	AverageBandwidth int64 `json:"average_bandwidth"`
}

// LadderThumbnails is the thumbnail sprite and track as verified.
type LadderThumbnails struct {
	Sprite       string  `json:"sprite"`
	Track        string  `json:"track"`
	Count        int     `json:"count"`
	EverySeconds float64 `json:"every_seconds"`
	Width        int     `json:"width"` // of one thumbnail
	Height       int     `json:"height"`
}

// LadderAudio is one audio rendition as verified.
type LadderAudio struct {
	Playlist       string  `json:"playlist"`
	SourceDuration float64 `json:"source_duration"`
	OutputDuration float64 `json:"output_duration"`
	// Offsets are the audio's start relative to the first video frame.
	SourceOffset float64 `json:"source_offset"`
	OutputOffset float64 `json:"output_offset"`
	Bitrate      float64 `json:"bitrate"`
}

// ladderBitrateTolerance is how far a rung's bitrate over the title may be
// from its target before the summary warns.
const ladderBitrateTolerance = 0.05

// rendition is one packaged stream read back from its playlist.
type rendition struct {
	playlist string
	list     media.MediaPlaylist
	frags    []media.Fragment
}

func (r *ladderRun) readRendition(ctx context.Context, n int) (rendition, error) {
	name := fmt.Sprintf("media_%d.m3u8", n)
	text, err := os.ReadFile(filepath.Join(r.partial, name))
	if err != nil {
		return rendition{}, err
	}
	list, err := media.ParseMediaPlaylist(string(text))
	if err != nil {
		return rendition{}, fmt.Errorf("%s: %w", name, err)
	}
	if list.Map == "" || len(list.Segments) == 0 || !list.EndList {
		return rendition{}, fmt.Errorf("%s: want an init segment, media segments and an end", name)
	}
	var segs []string
	for _, s := range list.Segments {
		segs = append(segs, filepath.Join(r.partial, s.URI))
	}
	frags, err := media.ReadFragments(ctx, filepath.Join(r.partial, list.Map), segs, filepath.Join(r.temp, "fragments.mp4"))
	if err != nil {
		return rendition{}, fmt.Errorf("%s: %w", name, err)
	}
	return rendition{playlist: name, list: list, frags: frags}, nil
}

// verify reads every rendition back as a player would and checks it:
// every source frame in every rung, a keyframe at the start of every
// segment, the same segment starts in every rung (by the playlists and by
// the media), audio within 50 ms of the source's; then it writes the
// master playlist from the bitrates measured and has ffprobe read it and
// the manifest.
func (r *ladderRun) verify(ctx context.Context) (*LadderSummary, error) {
	tb := r.src.video.TimeBase
	frames := r.src.frames
	duration := tb.Seconds(r.plan.Tasks[len(r.plan.Tasks)-1].EndPTS - frames[0].PTS)
	sum := &LadderSummary{JobID: r.id, Executor: r.exec.Name(), Input: r.cfg.Input, Codec: r.codec.Encoder,
		SegmentSeconds: r.cfg.SegmentDuration.Seconds(), PackagedSegments: len(r.plan.Starts),
		SourceFrames: len(frames), SourceDuration: duration}

	var audioRate float64
	for j, a := range r.audio {
		rd, err := r.readRendition(ctx, len(r.rungs)+j)
		if err != nil {
			return nil, fmt.Errorf("verify audio %d: %w", j, err)
		}
		var bytes int64
		for _, f := range rd.frags {
			bytes += f.Bytes
		}
		out := rd.frags[len(rd.frags)-1].End - rd.frags[0].Start
		want := r.src.extents[a.Index].Seconds(a.TimeBase)
		if math.Abs(out-want) > 0.050 {
			return nil, fmt.Errorf("verify audio %d: %.3fs long, the source's is %.3fs (more than 50 ms apart)", j, out, want)
		}
		rate := float64(bytes) * 8 / out
		audioRate = max(audioRate, rate)
		srcOffset := a.TimeBase.Seconds(r.src.extents[a.Index].Start) - tb.Seconds(frames[0].PTS)
		sum.Audio = append(sum.Audio, LadderAudio{Playlist: rd.playlist, SourceDuration: want, OutputDuration: out,
			SourceOffset: srcOffset, OutputOffset: rd.frags[0].Start, Bitrate: rate})
	}

	codecs, err := r.manifestCodecs()
	if err != nil {
		return nil, err
	}
	var first rendition
	for i, rung := range r.rungs {
		rd, err := r.readRendition(ctx, i)
		if err != nil {
			return nil, fmt.Errorf("verify rung %s: %w", rung.Name(), err)
		}
		if err := checkRendition(rd, len(frames)); err != nil {
			return nil, fmt.Errorf("verify rung %s: %w", rung.Name(), err)
		}
		if err := media.DecodesClean(ctx, filepath.Join(r.partial, rd.playlist), r.codec.Decoder); err != nil {
			return nil, fmt.Errorf("verify rung %s: %w", rung.Name(), err)
		}
		if i == 0 {
			first = rd
			for j := range sum.Audio {
				a := &sum.Audio[j]
				a.OutputOffset -= rd.frags[0].Start
				if math.Abs(a.OutputOffset-a.SourceOffset) > 0.050 {
					return nil, fmt.Errorf("verify audio %d: starts %.3fs from the video, in the source %.3fs (out of sync by more than 50 ms)", j, a.OutputOffset, a.SourceOffset)
				}
			}
		} else if err := checkAligned(first, rd); err != nil {
			return nil, fmt.Errorf("verify rung %s against %s: %w", rung.Name(), r.rungs[0].Name(), err)
		}
		rs := rungFigures(rd, duration, audioRate)
		rs.Name, rs.Width, rs.Height, rs.Playlist = rung.Name(), rung.Width, rung.Height, rd.playlist
		rs.TargetBitrate = rung.Bitrate
		rs.BitrateError = rs.Bitrate/float64(rung.Bitrate) - 1
		rs.Codecs = codecs[strconv.Itoa(i)]
		if rs.Codecs == "hvc1" {
			if rs.Codecs, err = r.hevcCodecs(ctx, rd.playlist); err != nil {
				return nil, fmt.Errorf("verify rung %s: %w", rung.Name(), err)
			}
		}
		if len(r.audio) > 0 {
			rs.Codecs += "," + codecs[strconv.Itoa(len(r.rungs))]
		}
		// The playlist promises the rate control's cap; a segment above
		// it (the cap is kept over the VBV buffer, not per segment) raises
		// the promise, since BANDWIDTH must not be below any segment.
		rs.Bandwidth = rung.MaxRate() + int64(math.Ceil(audioRate))
		if p := int64(math.Ceil(rs.PeakSegment)); p > rs.Bandwidth {
			sum.Warnings = append(sum.Warnings, fmt.Sprintf("rung %s: a segment peaks at %s, above its cap %s: BANDWIDTH raised to it",
				rung.Name(), kbps(rs.PeakSegment), kbps(float64(rs.Bandwidth))))
			rs.Bandwidth = p
		}
		rs.AverageBandwidth = int64(math.Ceil(rs.Bitrate + audioRate))
		if math.Abs(rs.BitrateError) > ladderBitrateTolerance {
			sum.Warnings = append(sum.Warnings, fmt.Sprintf("rung %s: %s over the title, %+.1f%% from its %s",
				rung.Name(), kbps(rs.Bitrate), 100*rs.BitrateError, kbps(float64(rung.Bitrate))))
		}
		sum.Rungs = append(sum.Rungs, rs)
	}
	// As packaged: ffmpeg's DASH muxer cuts at the forced keyframes.
	sum.PackagedSegments = len(first.frags)
	for _, w := range sum.Warnings {
		fmt.Fprintf(r.cfg.Log, "dswarm: warning: %s\n", w)
	}

	for i := range r.subFiles {
		name := fmt.Sprintf("sub_%d.vtt", i)
		info, err := media.Probe(ctx, filepath.Join(r.partial, name))
		if err != nil || len(info.Subtitles()) != 1 || info.Subtitles()[0].Codec != "webvtt" {
			return nil, fmt.Errorf("verify %s: ffprobe does not read it as WebVTT: %v", name, err)
		}
		sum.Subtitles = append(sum.Subtitles, name)
	}
	if len(r.thumbs) > 0 {
		info, err := media.Probe(ctx, filepath.Join(r.partial, LadderSprite))
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", LadderSprite, err)
		}
		v, err := info.Video()
		cols := min(10, len(r.thumbs))
		rows := (len(r.thumbs) + cols - 1) / cols
		if err != nil || v.Width != cols*thumbWidth || v.Height != rows*r.thumbH {
			return nil, fmt.Errorf("verify %s: %dx%d, want %d x %d thumbnails of %dx%d", LadderSprite, v.Width, v.Height, cols, rows, thumbWidth, r.thumbH)
		}
		sum.Thumbnails = &LadderThumbnails{Sprite: LadderSprite, Track: LadderThumbs, Count: len(r.thumbs),
			EverySeconds: r.cfg.ThumbEvery.Seconds(), Width: thumbWidth, Height: r.thumbH}
	}
	if err := r.writeMaster(sum); err != nil {
		return nil, err
	}
	for _, m := range []string{LadderMaster, LadderManifest} {
		info, err := media.Probe(ctx, filepath.Join(r.partial, m))
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", m, err)
		}
		var v, a int
		for _, s := range info.Streams {
			switch s.Type {
			case "video":
				v++
			case "audio":
				a++
			}
		}
		if v != len(r.rungs) || a != len(r.audio) {
			return nil, fmt.Errorf("verify %s: ffprobe finds %d video and %d audio streams, want %d and %d", m, v, a, len(r.rungs), len(r.audio))
		}
	}
	if err := r.addManifestSubtitles(); err != nil {
		return nil, err
	}
	return sum, nil
}

// addManifestSubtitles adds the WebVTT files to the manifest once ffprobe
// has read it: ffmpeg's DASH demuxer reads no text adaptation set (it
// takes the file for media segments), so the manifest with them is
// checked by an XML parser for what it declares.
func (r *ladderRun) addManifestSubtitles() error {
	if len(r.subRenditions) == 0 {
		return nil
	}
	p := filepath.Join(r.partial, LadderManifest)
	mpd, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("package subtitles: %w", err)
	}
	out, err := media.AddMPDSubtitles(string(mpd), r.subRenditions, 1+len(r.audioFiles))
	if err != nil {
		return fmt.Errorf("package subtitles: %w", err)
	}
	var doc struct {
		Sets []struct {
			ContentType string `xml:"contentType,attr"`
			Reps        []struct {
				BaseURL string `xml:"BaseURL"`
			} `xml:"Representation"`
		} `xml:"Period>AdaptationSet"`
	}
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		return fmt.Errorf("verify %s with subtitles: %w", LadderManifest, err)
	}
	var texts []string
	for _, s := range doc.Sets {
		if s.ContentType == "text" && len(s.Reps) == 1 {
			texts = append(texts, s.Reps[0].BaseURL)
		}
	}
	if len(texts) != len(r.subRenditions) {
		return fmt.Errorf("verify %s: %d text adaptation sets, want %d", LadderManifest, len(texts), len(r.subRenditions))
	}
	return os.WriteFile(p, []byte(out), 0o644)
}

// checkRendition checks one video rendition: every frame, and a keyframe
// first in every segment.
func checkRendition(rd rendition, frames int) error {
	n := 0
	for i, f := range rd.frags {
		if f.Packets == 0 {
			return fmt.Errorf("segment %s is empty", rd.list.Segments[i].URI)
		}
		if !f.FirstKey {
			return fmt.Errorf("segment %s (at %.3fs) does not start with a keyframe", rd.list.Segments[i].URI, f.Start)
		}
		n += f.Packets
	}
	if n != frames {
		return fmt.Errorf("%d frames, the source has %d", n, frames)
	}
	return nil
}

// checkAligned checks that two renditions' segments start at the same
// times, by their playlists and by their media: a player switches rungs at
// segment boundaries.
func checkAligned(a, b rendition) error {
	if len(a.frags) != len(b.frags) {
		return fmt.Errorf("%d segments against %d", len(b.frags), len(a.frags))
	}
	as, bs := a.list.Starts(), b.list.Starts()
	for i := range as {
		if math.Abs(as[i]-bs[i]) > 0.001 {
			return fmt.Errorf("playlist segment %d starts at %.6fs against %.6fs", i, bs[i], as[i])
		}
		if math.Abs(a.frags[i].Start-b.frags[i].Start) > 0.001 {
			return fmt.Errorf("segment %d's first frame is at %.6fs against %.6fs", i, b.frags[i].Start, a.frags[i].Start)
		}
	}
	return nil
}

// rungFigures measures a rendition's bitrate over the title and its peaks
// over one and two consecutive segments (with the audio's rate added).
func rungFigures(rd rendition, duration, audioRate float64) RungSummary {
	rs := RungSummary{Segments: len(rd.frags)}
	var bytes int64
	secs := make([]float64, len(rd.frags))
	for i, f := range rd.frags {
		bytes += f.Bytes
		rs.Frames += f.Packets
		if i+1 < len(rd.frags) {
			secs[i] = rd.frags[i+1].Start - f.Start
		} else {
			secs[i] = f.End - f.Start
		}
	}
	rs.Bitrate = float64(bytes) * 8 / duration
	for i, f := range rd.frags {
		if secs[i] > 0 {
			rs.PeakSegment = max(rs.PeakSegment, float64(f.Bytes)*8/secs[i]+audioRate)
		}
		if i+1 < len(rd.frags) && secs[i]+secs[i+1] > 0 {
			rs.PeakWindow = max(rs.PeakWindow, float64(f.Bytes+rd.frags[i+1].Bytes)*8/(secs[i]+secs[i+1])+audioRate)
		}
	}
	if len(rd.frags) == 1 {
		rs.PeakWindow = rs.PeakSegment
	}
	return rs
}

var representationCodecs = regexp.MustCompile(`<Representation id="(\d+)"[^>]*\scodecs="([^"]+)"`)

// manifestCodecs reads each representation's RFC 6381 codecs string from
// the manifest, as ffmpeg's DASH muxer derived it from the bitstream.
func (r *ladderRun) manifestCodecs() (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(r.partial, LadderManifest))
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	out := map[string]string{}
	for _, m := range representationCodecs.FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = m[2]
	}
	if len(out) != len(r.rungs)+len(r.audio) {
		return nil, fmt.Errorf("verify %s: %d representations, want %d", LadderManifest, len(out), len(r.rungs)+len(r.audio))
	}
	return out, nil
}

func (r *ladderRun) writeMaster(sum *LadderSummary) error {
	m := media.MasterPlaylist{}
	for i, a := range sum.Audio {
		m.Audio = append(m.Audio, r.rendition(r.audio[i], i, "Audio", a.Playlist))
	}
	for i := range r.subFiles {
		m.Subtitles = append(m.Subtitles, r.rendition(r.subs[i], i, "Subtitles", fmt.Sprintf("sub_%d.m3u8", i)))
	}
	for _, rs := range sum.Rungs {
		m.Variants = append(m.Variants, media.Variant{URI: rs.Playlist, Bandwidth: rs.Bandwidth, AverageBandwidth: rs.AverageBandwidth,
			Width: rs.Width, Height: rs.Height, FrameRate: r.src.video.FrameRate.Float(), Codecs: rs.Codecs})
	}
	return os.WriteFile(filepath.Join(r.partial, LadderMaster), []byte(m.String()), 0o644)
}

func kbps(bits float64) string { return fmt.Sprintf("%.0fk", bits/1000) }

// hevcCodecs gives an HEVC rung its full codecs string and writes it into
// the manifest too, where ffmpeg's DASH muxer wrote only "hvc1".
func (r *ladderRun) hevcCodecs(ctx context.Context, playlist string) (string, error) {
	profile, level, err := media.VideoProfile(ctx, filepath.Join(r.partial, playlist))
	if err != nil {
		return "", err
	}
	codecs, err := media.HEVCCodecs(profile, level)
	if err != nil {
		return "", err
	}
	p := filepath.Join(r.partial, LadderManifest)
	mpd, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	// The representation ids are the rungs' media_N numbers.
	id := strings.TrimSuffix(strings.TrimPrefix(playlist, "media_"), ".m3u8")
	re := regexp.MustCompile(`(<Representation id="` + regexp.QuoteMeta(id) + `"[^>]*\scodecs=")hvc1(")`)
	out := re.ReplaceAllString(string(mpd), "${1}"+codecs+"${2}")
	return codecs, os.WriteFile(p, []byte(out), 0o644)
}

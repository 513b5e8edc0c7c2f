package job

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/dswarm/dswarm/media"
)

// Everything a single ffmpeg run keeps besides the encoded frames and
// audio, dswarm keeps: subtitles (per stream, converted only where the
// container needs it), attachments, dispositions, the encoder's colour and
// field order (which the NUT segments lose), and, beyond a single run,
// HDR10 static metadata.

// muxer is the container the output is written with.
func (r *run) muxer() string { return media.OutputMuxer(r.cfg.Output, r.opts.Global) }

// checkSubtitles decides per subtitle stream how it reaches the output:
// copied when the container takes its codec, converted when the container
// takes another text codec, dropped with a warning otherwise. A -c:s of the
// user's applies to every stream and is an error where it cannot be kept.
func (r *run) checkSubtitles(ctx context.Context) error {
	subs := r.src.info.Subtitles()
	if len(subs) == 0 || r.opts.NoSubtitles {
		return nil
	}
	muxer := r.muxer()
	for _, s := range subs {
		codec, err := media.SubtitleCodec(muxer, s.Codec, r.opts.SubCodec)
		if err == nil && codec != "copy" {
			err = r.checkSubtitleConversion(ctx, s, codec)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if r.opts.SubCodec != "" {
				return fmt.Errorf("subtitle stream #%d (%s) as %s in %s: %w", s.Index, s.Codec, r.opts.SubCodec, filepath.Base(r.cfg.Output), err)
			}
			r.warnf("dropping subtitle stream #%d (%s): %v", s.Index, s.Codec, err)
			continue
		}
		r.subtitles = append(r.subtitles, s.Index)
		r.subCodecs = append(r.subCodecs, codec)
	}
	return nil
}

// checkSubtitleConversion has ffmpeg convert the first second of one
// subtitle stream, in the sandbox: ffmpeg's encoders refuse some sources.
func (r *run) checkSubtitleConversion(ctx context.Context, s media.Stream, codec string) error {
	out := r.sandbox.Path("subcheck" + filepath.Ext(r.cfg.Output))
	defer os.Remove(out)
	args := []string{"-y", "-i", r.cfg.Input, "-map", fmt.Sprintf("0:%d", s.Index), "-c:s", codec, "-t", "1"}
	args = append(args, r.opts.Global...)
	args = append(args, out)
	if _, err := r.sandbox.Preflight(ctx, args); err != nil {
		return fmt.Errorf("ffmpeg cannot convert it to %s: %w", codec, lastLine(err))
	}
	return nil
}

// keepVideo reads, from the preflight's one-frame output, the colour and
// field order the encoder declares, which the merge sets again on the
// copied stream; and it gives the source's HDR10 metadata to every
// segment's encoder while the output is still PQ.
func (r *run) keepVideo(ctx context.Context, preflightOut string) error {
	info, err := r.sandbox.Probe(ctx, preflightOut)
	if err != nil {
		return fmt.Errorf("probe the preflight output: %w", err)
	}
	v, err := info.Video()
	if err != nil {
		return nil
	}
	r.videoParams = media.VideoParamsOf(v)
	if v.ColorTransfer != "smpte2084" {
		return nil
	}
	first, err := media.ProbeFirstFrame(ctx, r.cfg.Input, r.src.video.Index)
	if err != nil {
		return fmt.Errorf("read the first frame of %s: %w", r.cfg.Input, err)
	}
	option, keys := media.HDRParams(r.videoCodec, first.Mastering, first.LightLevel)
	if option == "" && (first.Mastering != nil || first.LightLevel != nil) {
		r.warnf("the source's HDR10 mastering display and light level are not passed to %s (dswarm does so for libx265, libx264 and libsvtav1)", r.videoCodec)
	}
	r.opts.Video = media.AddEncoderParams(r.opts.Video, option, keys)
	return nil
}

// outputStreams are the merge's output streams with the dispositions of
// their sources, and the source's attachments the container takes.
func (r *run) outputStreams() (dispositions []string, attachments []int) {
	streams := []media.OutputStream{{Type: "video", Disposition: r.src.video.Disposition}}
	if r.audioFile != "" {
		for _, a := range r.src.info.Audio() {
			streams = append(streams, media.OutputStream{Type: "audio", Disposition: a.Disposition})
		}
	}
	byIndex := map[int]media.Stream{}
	for _, s := range r.src.info.Streams {
		byIndex[s.Index] = s
	}
	for _, i := range r.subtitles {
		streams = append(streams, media.OutputStream{Type: "subtitle", Disposition: byIndex[i].Disposition})
	}
	if media.TakesAttachments(r.muxer()) {
		for _, s := range r.src.info.Streams {
			if s.Type == "attachment" {
				attachments = append(attachments, s.Index)
				streams = append(streams, media.OutputStream{Type: "attachment", Disposition: s.Disposition})
			}
		}
	}
	return media.Dispositions(streams, !userSetsDisposition(r.opts.Global)), attachments
}

func userSetsDisposition(global []string) bool {
	for _, o := range global {
		if o == "-disposition" || strings.HasPrefix(o, "-disposition:") {
			return true
		}
	}
	return false
}

// trimmedChapters writes the source's chapters, clipped to the -ss/-t
// window as a single ffmpeg run clips them, into an ffmetadata file for
// the merge, which trims its inputs and so would leave them whole. It
// returns "" when there is nothing to clip.
func (r *run) trimmedChapters() (string, error) {
	if !r.opts.Trim.Set || len(r.src.info.Chapters) == 0 {
		return "", nil
	}
	t := r.opts.Trim
	offset := int64(math.Round((t.Start + r.src.info.StartTime) * 1e6))
	duration := int64(-1)
	if !math.IsInf(t.End, 1) {
		duration = int64(math.Round((t.End - t.Start) * 1e6))
	}
	path := filepath.Join(r.temp, "chapters.ffmeta")
	text := media.FFMetadata(media.ClipChapters(r.src.info.Chapters, offset, duration))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("write chapters: %w", unwrapPath(err))
	}
	return path, nil
}

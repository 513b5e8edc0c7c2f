// Package optcorpus is the corpus of ffmpeg option lists that dswarm's
// option grammar is tested on: hostile lists by class (arity tricks,
// quoting and escaping, spellings, filters with files, multi-file muxers,
// preset files, paths) and ordinary ones that must keep working.
package optcorpus

import "strings"

// Out stands for a path an attacker wants written, Secret for a file an
// attacker wants read; Substitute puts real paths in.
const (
	Out    = "/tmp/dswarm-canary/x"
	Secret = "/tmp/dswarm-canary/secret"
)

// Substitute returns args with Out and Secret replaced.
func Substitute(args []string, out, secret string) []string {
	r := strings.NewReplacer(Out, out, Secret, secret)
	res := make([]string, len(args))
	for i, a := range args {
		res[i] = r.Replace(a)
	}
	return res
}

// Case is one option list and what dswarm must do with it.
type Case struct {
	Class string
	Args  []string
	OK    bool   // accepted
	Why   string // part of the refusal's reason
}

// hostile is the corpus of option lists an attacker would try, by class,
// with every example of issue 9.
var Hostile = []Case{
	// Arity tricks: a value-less option followed by a word ffmpeg would
	// take as one more output file.
	{"arity", []string{"-xerror", Out}, false, "not supported by dswarm"},
	{"arity", []string{"-xerror:s", Out}, false, "not supported by dswarm"},
	{"arity", []string{"-bitexact", Out}, false, "not supported"},
	{"arity", []string{"-stdin", Out}, false, "not supported"},
	{"arity", []string{"-dump", Out}, false, "not supported"},
	{"arity", []string{"-hex", Out}, false, "not supported"},
	{"arity", []string{"-psnr", Out}, false, "not supported"},
	{"arity", []string{"-qphist", Out}, false, "not supported"},
	{"arity", []string{"-copyinkf", Out}, false, "not supported"},
	{"arity", []string{"-force_fps", Out}, false, "not supported"},
	{"arity", []string{"-autoscale", Out}, false, "not supported"},
	{"arity", []string{"-noautoscale", Out}, false, "not supported"},
	{"arity", []string{"-recast_media", Out}, false, "not supported"},
	{"arity", []string{"-noxerror", Out}, false, "not supported"},
	{"arity", []string{"-nobitexact", Out}, false, "not supported"},
	{"arity", []string{"-y", Out}, false, "not an option"},
	{"arity", []string{"-an:v", Out}, false, "takes no stream type"},
	{"arity", []string{"-crf", "23", Out}, false, "not an option"},
	{"arity", []string{"-stats", Out}, false, "not an option"},
	{"arity", []string{"-nostats", Out + ".mp4"}, false, "not an option"},
	{"arity", []string{"-unknown_thing", "1"}, false, "not an ffmpeg option"},
	{"arity", []string{"-/vf", "/tmp/graph.txt"}, false, "not an ffmpeg option"},
	// Options whose value is a path.
	{"path", []string{"-passlogfile", Out}, false, "writes another file"},
	{"path", []string{"-vstats_file", Out}, false, "writes another file"},
	{"path", []string{"-attach", Secret}, false, "reads another file"},
	{"path", []string{"-dump_attachment:t", Out}, false, "writes another file"},
	{"path", []string{"-filter_script:v", Out}, false, "reads another file"},
	{"path", []string{"-sdp_file", Out}, false, "writes another file"},
	{"path", []string{"-progress", Out}, false, "reports progress itself"},
	{"path", []string{"-i", Secret}, false, "inputs are given once"},
	{"path", []string{"-stats_file", Out}, false, "not an ffmpeg option"},
	{"path", []string{"-segment_list", Out}, false, "not supported by dswarm"},
	{"path", []string{"-hls_segment_filename", Out}, false, "not supported by dswarm"},
	{"path", []string{"-metadata", "title=x", Out}, false, "not an option"},
	// Preset files.
	{"preset", []string{"-fpre", Secret}, false, "reads a preset file"},
	{"preset", []string{"-vpre", "slow"}, false, "reads a preset file"},
	{"preset", []string{"-apre", "x"}, false, "reads a preset file"},
	{"preset", []string{"-spre", "x"}, false, "reads a preset file"},
	{"preset", []string{"-pre", "x"}, false, "reads a preset file"},
	{"preset", []string{"-fpre:v", "x"}, false, "reads a preset file"},
	// Filters with file, model or URL options, or another input.
	{"filter", []string{"-vf", "'metadata'=mode=print:file=" + Out}, false, `filter "metadata"`},
	{"filter", []string{"-vf", `meta\data=mode=print:file=` + Out}, false, `filter "metadata"`},
	{"filter", []string{"-vf", `drawbox=c='re\'d,metadata=mode=print:file=` + Out}, false, `filter "metadata"`},
	{"filter", []string{"-vf", `drawbox=c='re\'d\,metadata=mode=print:file=` + Out}, false, ""},
	{"filter", []string{"-vf", "vmafmotion=stats_file=" + Out}, false, `filter "vmafmotion"`},
	{"filter", []string{"-vf", "scale=64:-2,movie=" + Secret}, false, `filter "movie"`},
	{"filter", []string{"-af", "amovie=" + Secret}, false, `filter "amovie"`},
	{"filter", []string{"-vf", "subtitles=" + Secret}, false, `filter "subtitles"`},
	{"filter", []string{"-vf", "lut3d=" + Out + ".cube"}, false, `filter "lut3d"`},
	{"filter", []string{"-vf", "curves=psfile=" + Out}, false, `filter "curves"`},
	{"filter", []string{"-vf", "drawtext=textfile=" + Secret}, false, `filter "drawtext"`},
	{"filter", []string{"-vf", "sr=dnn_backend=tensorflow:model=/tmp/m.pb"}, false, `filter "sr"`},
	{"filter", []string{"-af", "arnndn=m=" + Out + ".rnnn"}, false, `filter "arnndn"`},
	{"filter", []string{"-vf", "zmq=bind_address=tcp\\://0.0.0.0\\:5555"}, false, `filter "zmq"`},
	{"filter", []string{"-vf", "sendcmd=f=/tmp/cmds"}, false, `filter "sendcmd"`},
	{"filter", []string{"-af", "ladspa=file=" + Out + ".so"}, false, `filter "ladspa"`},
	{"filter", []string{"-vf", "frei0r=filter_name=/tmp/evil"}, false, `filter "frei0r"`},
	{"filter", []string{"-vf", "[in]scale=1:1[a];movie=x[b];[a][b]overlay"}, false, "link labels"},
	{"filter", []string{"-vf", "scale=1:1;movie=x"}, false, "';'"},
	{"filter", []string{"-vf", "sws_flags=bicubic;scale=1:1"}, false, "sws_flags"},
	{"filter", []string{"-vf", "scale=64:-2:file=" + Out}, false, `no option "file"`},
	{"filter", []string{"-vf", "scale@'x'=64:-2"}, true, ""}, // unquoted to scale@x, which runs
	{"filter", []string{"-vf", "scale=64:-2,\\\nmetadata=print"}, false, "is not a filter name"},
	{"filter", []string{"-vf", "scale=64:-2,'metadata'"}, false, `filter "metadata"`},
	{"filter", []string{"-af", "volume=1,ametadata=mode=print:file=" + Out}, false, `filter "ametadata"`},
	{"filter", []string{"-filter:v", "metadata=mode=print:file=" + Out}, false, `filter "metadata"`},
	{"filter", []string{"-filter", "metadata=file=" + Out}, false, "give it a stream type"},
	// Encoder parameter spellings.
	{"params", []string{"-x265-params", "--csv=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "csv=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "analysis_save=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "Analysis-Save=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "dump_yuv=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "'dump-yuv'=" + Out}, false, "quotes and backslashes"},
	{"params", []string{"-x264-params", `dump\-yuv=` + Out}, false, "quotes and backslashes"},
	{"params", []string{"-x264-params", "keyint=48:stats=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x264opts", "qpfile=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-aom-params", "film-grain-table=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-svtav1-params", "fgs-table=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "pass=2:stats=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "dhdr10-info=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x265-params", "zonefile=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "opencl-clbin=" + Out}, false, "reads or writes another file"},
	{"params", []string{"-x264-params", "no-such-key=1"}, false, "not on dswarm's list"},
	{"params", []string{"-x264-params", "keyint=48\n:stats=x"}, false, ""},
	{"params", []string{"-x264-params", ""}, false, "empty"},
	// Multi-file muxers.
	{"muxer", []string{"-f", "image2"}, false, "writes more files"},
	{"muxer", []string{"-f", "hls"}, false, "writes more files"},
	{"muxer", []string{"-f", "dash"}, false, "writes more files"},
	{"muxer", []string{"-f", "segment", "-segment_list", Out}, false, "writes more files"},
	{"muxer", []string{"-f", "tee"}, false, "writes more files"},
	{"muxer", []string{"-f", "ssegment"}, false, "writes more files"},
	{"muxer", []string{"-f", "rtp"}, false, "not a single-file container"},
	{"muxer", []string{"-f", Out}, false, "not a single-file container"},
	// Values with paths or control characters where dswarm knows the form.
	{"value", []string{"-c:v", Out}, false, "is not a plain value"},
	{"value", []string{"-preset", "../../x"}, false, "is not a plain value"},
	{"value", []string{"-metadata", "title=a\nb"}, false, "control character"},
	{"value", []string{"-map_metadata", "1"}, false, "only 0"},
	{"value", []string{"-b:0", "1M"}, false, "unknown stream specifier"},
	{"value", []string{"-r", "../x"}, false, "is not a rate"},
}

// ordinary is the corpus of everyday option lists that must keep working.
var Ordinary = []Case{
	{"ordinary", []string{"-c:v", "libx264", "-crf", "23", "-preset", "veryfast"}, true, ""},
	{"ordinary", []string{"-c:v", "mpeg4", "-b:v", "1M"}, true, ""},
	{"ordinary", []string{"-c:v", "libx265", "-x265-params", "keyint=48:min-keyint=48:no-open-gop=1:log-level=error"}, true, ""},
	{"ordinary", []string{"-c:v", "libx264", "-x264-params", "keyint=48:min-keyint=48:scenecut=0:no-mbtree=1"}, true, ""},
	{"ordinary", []string{"-x264opts", "keyint=48:bframes=3"}, true, ""},
	{"ordinary", []string{"-c:v", "libx265", "-x265-params", "hdr10=1:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400"}, true, ""},
	{"ordinary", []string{"-c:v", "libsvtav1", "-svtav1-params", "tune=0:film-grain=8", "-preset", "8"}, true, ""},
	{"ordinary", []string{"-c:v", "libaom-av1", "-aom-params", "enable-cdef=1:tune=psnr", "-cpu-used", "8"}, true, ""},
	{"ordinary", []string{"-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "31", "-row-mt", "1", "-deadline", "good"}, true, ""},
	{"ordinary", []string{"-vf", "scale=1280:-2,crop=iw-16:ih-16,pad=iw+16:ih+16:8:8:black"}, true, ""},
	{"ordinary", []string{"-vf", "scale=w='min(iw,640)':h=-2:flags=lanczos,format=yuv420p"}, true, ""},
	{"ordinary", []string{"-vf", "transpose=1,hflip,setsar=1,unsharp=5:5:1.0"}, true, ""},
	{"ordinary", []string{"-vf", "drawbox=x=10:y=10:w=100:h=50:color=red@0.5:t=fill"}, true, ""},
	{"ordinary", []string{"-vf", "eq=contrast=1.1:brightness=0.02,hue=s=0.8"}, true, ""},
	{"ordinary", []string{"-af", "volume=0.5,aresample=48000"}, true, ""},
	{"ordinary", []string{"-af", "loudnorm=I=-16:TP=-1.5:LRA=11"}, true, ""},
	{"ordinary", []string{"-af", "pan=stereo|c0=FL|c1=FR", "-ac", "2"}, true, ""},
	{"ordinary", []string{"-af", "afade=t=in:d=1,volume=enable='between(t,1,2)':volume=0.5"}, true, ""},
	{"ordinary", []string{"-metadata", "title=My Film: Part 2", "-metadata:s:a:0", "language=eng"}, true, ""},
	{"ordinary", []string{"-movflags", "+faststart", "-c:a", "aac", "-b:a", "128k", "-ar", "48000"}, true, ""},
	{"ordinary", []string{"-pix_fmt", "yuv420p10le", "-profile:v", "main10", "-color_primaries", "bt2020"}, true, ""},
	{"ordinary", []string{"-g", "48", "-keyint_min", "48", "-sc_threshold", "0", "-bf", "3"}, true, ""},
	{"ordinary", []string{"-maxrate", "3M", "-bufsize", "6M", "-b:v", "2M"}, true, ""},
	{"ordinary", []string{"-disposition:a:0", "default", "-f", "matroska", "-map_metadata", "-1"}, true, ""},
	{"ordinary", []string{"-aspect", "16:9", "-r", "30000/1001", "-s", "1280x720"}, true, ""},
	{"ordinary", []string{"-c:a", "libopus", "-b:a", "96k", "-vbr", "on", "-application", "audio"}, true, ""},
	{"ordinary", []string{"-force_key_frames", "expr:gte(t,n_forced*2)", "-tag:v", "hvc1"}, true, ""},
	{"ordinary", []string{"-y", "-hide_banner", "-nostats", "-an", "-sn", "-strict", "-2"}, true, ""},
	{"ordinary", []string{"-ss", "10", "-t", "30", "-c:v", "ffv1", "-level", "3", "-slices", "4"}, true, ""},
	{"ordinary", []string{"-c:v", "libx264", "-tune", "film", "-threads", "2", "-ch_layout", "5.1(side)"}, true, ""},
}

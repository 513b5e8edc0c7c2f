package bench

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dswarm/dswarm/internal/testmedia"
)

// LadderClip720p60s is the 60 s 720p source of the ladder comparison.
var LadderClip720p60s = testmedia.Spec{Name: "bench-720p-60s.mp4", Args: []string{
	"-f", "lavfi", "-i", "testsrc2=s=1280x720:r=25:d=60",
	"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000:d=60",
	"-vf", "noise=alls=12:allf=t",
	"-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-g", "50", "-c:a", "aac",
}}

// plainLadder is one ffmpeg command that makes the same 4-rung ladder:
// one decode, split, four capped-VBR encodes with a keyframe every 4 s,
// AAC, and the hls muxer writing fMP4 segments and a master playlist.
func plainLadder(src, dir string) []string {
	return []string{"-nostdin", "-v", "error", "-y", "-i", src, "-filter_complex",
		"[0:v]split=4[a][b][c][d];[a]scale=1280:720[v0];[b]scale=854:480,setsar=1280/1281[v1];[c]scale=640:360[v2];[d]scale=426:240[v3]",
		"-map", "[v0]", "-map", "[v1]", "-map", "[v2]", "-map", "[v3]", "-map", "0:a",
		"-c:v", "libx264", "-preset", "veryfast",
		"-b:v:0", "3M", "-maxrate:v:0", "4.5M", "-bufsize:v:0", "6M",
		"-b:v:1", "1.2M", "-maxrate:v:1", "1.8M", "-bufsize:v:1", "2.4M",
		"-b:v:2", "600k", "-maxrate:v:2", "900k", "-bufsize:v:2", "1.2M",
		"-b:v:3", "300k", "-maxrate:v:3", "450k", "-bufsize:v:3", "600k",
		"-force_key_frames", "expr:gte(t,n_forced*4)", "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2",
		"-f", "hls", "-hls_time", "4", "-hls_segment_type", "fmp4", "-hls_playlist_type", "vod",
		"-var_stream_map", "v:0,agroup:a v:1,agroup:a v:2,agroup:a v:3,agroup:a a:0,agroup:a",
		"-master_pl_name", "master.m3u8", "-hls_segment_filename", filepath.Join(dir, "v%v_%03d.m4s"), filepath.Join(dir, "v%v.m3u8")}
}

// BenchmarkLadderVsFFmpeg makes a 4-rung ladder from 60 s of 720p with
// `dswarm transcode --local --ladder` (two passes per task, and one) and
// with one plain ffmpeg command, and prints wall and CPU time and ratios.
func BenchmarkLadderVsFFmpeg(b *testing.B) {
	src := testmedia.Generate(b, LadderClip720p60s)
	dir := b.TempDir()
	bin := filepath.Join(dir, "dswarm")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/dswarm").CombinedOutput(); err != nil {
		b.Fatalf("build dswarm: %v\n%s", err, out)
	}
	ladder := []string{"--ladder", "720p:3M,480p:1.2M,360p:600k,240p:300k", "--thumbnails", "0"}
	plainDir := filepath.Join(dir, "plain")
	if err := exec.Command("mkdir", "-p", plainDir).Run(); err != nil {
		b.Fatal(err)
	}
	plain := runMeasured(b, "ffmpeg", plainLadder(src, plainDir)...)
	fmt.Printf("ffmpeg, one command      : wall %6.2fs cpu %6.2fs\n", plain.wall.Seconds(), plain.cpu.Seconds())
	for _, mode := range [][]string{nil, {"--one-pass"}} {
		args := append([]string{"transcode", "--local", "-q", "--overwrite", src, "-o", filepath.Join(dir, "ladder")}, ladder...)
		args = append(append(args, mode...), "-preset", "veryfast")
		m := runMeasured(b, bin, args...)
		name := "dswarm --ladder (2-pass)"
		if len(mode) > 0 {
			name = "dswarm --ladder --one-pass"
		}
		fmt.Printf("%-25s: wall %6.2fs cpu %6.2fs (wall ratio %.2f, cpu ratio %.2f)\n", name, m.wall.Seconds(), m.cpu.Seconds(),
			m.wall.Seconds()/plain.wall.Seconds(), m.cpu.Seconds()/plain.cpu.Seconds())
	}
}

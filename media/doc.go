// Package media runs ffprobe and ffmpeg: probing, the packet index that
// segmentation plans from, the command lines of segment, audio and merge
// tasks, and the checks of a finished file.
//
// Running a tool is kept apart from reading its output: every parser here is
// a pure function tested on captured output, and every command line is built
// by a pure function that returns an argument slice (never a shell string).
package media

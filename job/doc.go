// Package job walks one transcode through probe -> plan -> run -> merge ->
// verify. Segment, audio and merge tasks run on an Executor, so running them
// as local processes or as Swarm services shares every other line.
package job

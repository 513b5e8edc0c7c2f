// Package job walks one transcode through probe -> plan -> run -> merge ->
// verify. Segment and audio tasks run on an Executor, so running them as
// local processes or as Swarm services shares every other line; the merge
// (and the preflight) run here, in the job's media.Sandbox.
package job

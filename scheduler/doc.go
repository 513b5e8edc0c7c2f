// Package scheduler is dswarm's pure planning code: where to cut a video into
// segments and how long they should be (segment.go, sizing.go), which nodes
// may run tasks and why the others may not (node.go), which node runs which
// segment (Assign, and the Dispatcher that places them live during a job,
// with backups of stragglers), the policies it is measured against and the
// simulator that measures them. Nothing here does I/O, reads the clock or
// talks to Docker; time is passed in, inputs are facts and options, outputs
// are plans, so every rule is unit-tested on tables.
package scheduler

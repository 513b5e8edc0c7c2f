// Package scheduler is dswarm's pure planning code: where to cut a video into
// segments and how long they should be (segment.go, sizing.go), which nodes
// may run tasks and why the others may not (node.go: Feasible, Active),
// which node runs which segment (Assign, and the Dispatcher that places them
// live during a job: dispatch.go, with cost.go, learn.go, tasksize.go,
// probe.go, backup.go and explain.go), how jobs share the nodes' slots
// (share.go), where a task the Dispatcher does not place goes (freeslot.go),
// and what a job starts at a tick (grant.go: the decisions stack applies),
// the policies it is measured against and the simulator that measures them.
// Nothing here does I/O, reads the clock or talks to Docker; time is passed
// in, inputs are facts and options, outputs are plans and decisions, so every
// rule is unit-tested on tables.
package scheduler

// Package scheduler is dswarm's pure planning code: where to cut a video into
// segments and (later) which node runs which segment. Nothing here does I/O,
// reads the clock or talks to Docker; inputs are facts and options, outputs
// are plans, so every rule is unit-tested on tables.
package scheduler

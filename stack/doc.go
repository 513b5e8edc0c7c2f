// Package stack runs dswarm's tasks on Docker Swarm. It is the only package
// that imports the Docker client. Service specs are built by pure functions
// (spec.go) and tested on their fields; engine.go is the thin part that
// calls the API; executor.go places, watches, retries and removes tasks.
package stack

package scheduler

import (
	"fmt"
)

// NodeAccount explains what a node got.
type NodeAccount struct {
	Tasks, Backups, Segments int
	ConfiguredSpeed          float64
	LearntSpeed              float64
	// Probed says the node was never measured and got a first small task
	// to learn its speed.
	Probed bool
}

// Explain says, per node, what it got and the speed dswarm learnt for it.
func (d *Dispatcher) Explain() []string {
	out := make([]string, len(d.nodes))
	for n, w := range d.Why {
		out[n] = fmt.Sprintf("%s: %d segments in %d tasks (%d backups); speed configured %.1f, learnt %.1f",
			d.nodes[n].Name, w.Segments, w.Tasks, w.Backups, w.ConfiguredSpeed, w.LearntSpeed)
	}
	return out
}

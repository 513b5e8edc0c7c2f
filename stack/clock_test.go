package stack

import (
	"testing"
	"testing/synctest"
)

// onFakeClock runs test on a fake clock (a synctest bubble): the
// executor's polls and ticks, its timeouts and the fake engine's task
// durations all read it, and it jumps ahead whenever every goroutine of
// the test waits. A test of 100 ms tasks takes no real time, and the
// speeds it measures are exact, not whatever a loaded machine allowed.
func onFakeClock(t *testing.T, test func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, test)
}

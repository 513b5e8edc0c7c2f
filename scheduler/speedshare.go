package scheduler

import "fmt"

// SpeedReasons says, per node, how the speed measured in a job compares
// with what the job started from. Measured rates (frames of cost per
// second) and weights (unitless) cannot be compared directly, so each is
// turned into the node's share of the nodes measured in the job: "40% of
// the measured speed, against 7% by its weight" compares like with like.
// start are the job's starting speeds (SpeedBook.StartSpeeds), learnt its
// rates (Dispatcher.Learnt, 0 for none), why the dispatcher's accounts.
func SpeedReasons(start []SpeedNode, learnt []float64, why []NodeAccount) []string {
	var startSum, rateSum float64
	measured := 0
	for i := range start {
		if learnt[i] > 0 {
			slots := float64(max(start[i].Slots, 1))
			startSum += start[i].Speed * slots
			rateSum += learnt[i] * slots
			measured++
		}
	}
	out := make([]string, len(start))
	for i, s := range start {
		basis := "its weight"
		if s.Measured {
			basis = "the speed learnt in earlier jobs"
		}
		var r string
		switch {
		case learnt[i] <= 0:
		case measured == 1:
			r = fmt.Sprintf("measured %.1f fps per slot; the only node measured, nothing to compare it with", learnt[i])
		default:
			slots := float64(max(s.Slots, 1))
			r = fmt.Sprintf("measured %.1f fps per slot: %.0f%% of the speed of the %d nodes measured, against %.0f%% by %s",
				learnt[i], 100*learnt[i]*slots/rateSum, measured, 100*s.Speed*slots/startSum, basis)
		}
		if i < len(why) && why[i].Probed {
			r = join(r, "never measured before: it got a first small segment so that its speed is learnt, not assumed")
		}
		out[i] = r
	}
	return out
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

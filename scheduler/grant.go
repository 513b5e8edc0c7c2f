package scheduler

import "time"

// Grant decides what job starts now: the attempts d hands out at now
// (seconds into the job) that the shares give a slot, taken at wall time
// at. nodeIDs maps d's node indices to the shares' node IDs. An attempt
// whose slot is another job's due goes back to d (Requeue); a backup whose
// race is over (racing says no: its segment is done or its first attempt
// ended) is dropped and its slot given back. While segments are left
// waiting, job counts as refused a slot, which holds other jobs to their
// share. The caller starts what Grant returns.
func Grant(d *Dispatcher, shares *Shares, job string, nodeIDs []string, now float64, at time.Time, racing func(Attempt) bool) []Attempt {
	SyncOthers(d, shares, job, nodeIDs)
	var start []Attempt
	for _, a := range d.Next(now) {
		if !shares.Take(job, nodeIDs[a.Node], at) {
			d.Requeue(a)
			continue
		}
		if a.Backup && !racing(a) {
			d.Abandon(a)
			shares.Release(job, nodeIDs[a.Node])
			continue
		}
		start = append(start, a)
	}
	if d.Pending() > 0 {
		shares.Refused(job, at)
	}
	return start
}

// SyncOthers tells d how many of each node's slots other jobs hold.
func SyncOthers(d *Dispatcher, shares *Shares, job string, nodeIDs []string) {
	for i, id := range nodeIDs {
		d.SetOthers(i, shares.Others(job, id))
	}
}

// GrantFree decides where a task the dispatcher does not place (the audio
// track, the merge, a retry) starts now: the node PickFree chooses, if the
// shares give job a slot there at wall time at; the slot is held in d. It
// returns -1 while there is none, and the job counts as refused a slot.
func GrantFree(d *Dispatcher, shares *Shares, job string, nodes []Node, lost map[string]bool, avoid []string, at time.Time) (int, error) {
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	SyncOthers(d, shares, job, ids)
	busy := make([]int, len(nodes))
	for i := range nodes {
		busy[i] = d.Busy(i)
	}
	ni, err := PickFree(nodes, busy, lost, avoid)
	if ni >= 0 {
		if shares.Take(job, ids[ni], at) {
			d.Hold(ni, 1)
		} else {
			ni = -1
		}
	}
	if ni < 0 {
		shares.Refused(job, at)
	}
	return ni, err
}

package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharesFairShare walks two jobs through one cluster of two 2-slot
// nodes (it was stack's TestPoolFairShare, with the same assertions).
func TestSharesFairShare(t *testing.T) {
	s := NewShares()
	now := time.Unix(1000, 0)
	s.Join("a", map[string]int{"n1": 2, "n2": 2})
	assert.True(t, s.Take("a", "n1", now))
	assert.True(t, s.Take("a", "n1", now))
	assert.False(t, s.Take("a", "n1", now), "n1 is full")
	assert.True(t, s.Take("a", "n2", now), "alone, a job may use every slot")
	s.Join("b", map[string]int{"n1": 2, "n2": 2})
	s.Refused("b", now) // b wants a slot and none is free
	assert.Equal(t, 3, s.Others("b", "n1")+s.Others("b", "n2"))
	assert.False(t, s.Take("a", "n2", now), "a holds its fair share (2) and more while b waits")
	assert.True(t, s.Take("b", "n2", now), "b is under its share")
	s.Release("a", "n1")
	assert.True(t, s.Take("b", "n1", now))
	assert.False(t, s.Take("b", "n1", now), "full")
	s.Leave("b")
	s.Release("a", "n1")
	assert.True(t, s.Take("a", "n1", now.Add(2*time.Second)), "b left: a may use everything again")
}

// TestSharesTake: whether job "a" gets a slot on n1, from what the jobs
// hold and when "b" was last refused.
func TestSharesTake(t *testing.T) {
	now := time.Unix(1000, 0)
	slots := map[string]int{"n1": 2, "n2": 2}
	cases := []struct {
		name     string
		jobs     []string
		held     map[string][]string // job -> nodes of the slots it holds
		refusedB time.Duration       // how long ago b was refused; 0 = never
		want     bool
	}{
		{name: "alone on a free node", jobs: []string{"a"}, want: true},
		{name: "alone, beyond any share", jobs: []string{"a"}, held: map[string][]string{"a": {"n2", "n2", "n1"}}, want: true},
		{name: "node full", jobs: []string{"a"}, held: map[string][]string{"a": {"n1", "n1"}}, want: false},
		{name: "node full of another job's tasks", jobs: []string{"a", "b"}, held: map[string][]string{"b": {"n1", "n1"}}, want: false},
		{name: "under its share while b waits", jobs: []string{"a", "b"}, held: map[string][]string{"a": {"n2"}}, refusedB: time.Millisecond, want: true},
		{name: "at its share while b waits", jobs: []string{"a", "b"}, held: map[string][]string{"a": {"n2", "n2"}}, refusedB: time.Millisecond, want: false},
		{name: "at its share, b waited but not lately", jobs: []string{"a", "b"}, held: map[string][]string{"a": {"n2", "n2"}}, refusedB: 2 * time.Second, want: true},
		{name: "at its share, b never refused", jobs: []string{"a", "b"}, held: map[string][]string{"a": {"n2", "n2"}}, want: true},
		{name: "share rounds up: 4 slots over 3 jobs is 2", jobs: []string{"a", "b", "c"}, held: map[string][]string{"a": {"n2"}}, refusedB: time.Millisecond, want: true},
		{name: "beyond the rounded-up share", jobs: []string{"a", "b", "c"}, held: map[string][]string{"a": {"n2", "n2"}}, refusedB: time.Millisecond, want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewShares()
			for _, j := range c.jobs {
				s.Join(j, slots)
			}
			for j, nodes := range c.held {
				for _, n := range nodes {
					require.True(t, s.Take(j, n, now), "no one was refused yet")
				}
			}
			if c.refusedB > 0 {
				s.Refused("b", now.Add(-c.refusedB))
			}
			assert.Equal(t, c.want, s.Take("a", "n1", now))
		})
	}
}

func TestSharesRefusalHoldsTheTaker(t *testing.T) {
	now := time.Unix(1000, 0)
	s := NewShares()
	s.Join("a", map[string]int{"n1": 1, "n2": 1})
	s.Join("b", map[string]int{"n1": 1, "n2": 1})
	assert.True(t, s.Take("a", "n1", now))
	s.Refused("b", now)
	assert.False(t, s.Take("a", "n2", now), "a is at its share (1) while b waits")
	s.Leave("b")
	s.Join("c", map[string]int{"n1": 1, "n2": 1})
	s.Refused("c", now)
	assert.False(t, s.Take("a", "n2", now), "a still at its share")
	s.Leave("c")
	assert.True(t, s.Take("a", "n2", now), "alone again")
}

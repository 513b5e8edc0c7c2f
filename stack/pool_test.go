package stack

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPoolFairShare(t *testing.T) {
	p := NewPool()
	now := time.Unix(1000, 0)
	p.Join("a", map[string]int{"n1": 2, "n2": 2})
	assert.True(t, p.Take("a", "n1", now))
	assert.True(t, p.Take("a", "n1", now))
	assert.False(t, p.Take("a", "n1", now), "n1 is full")
	assert.True(t, p.Take("a", "n2", now), "alone, a job may use every slot")
	p.Join("b", map[string]int{"n1": 2, "n2": 2})
	p.Refused("b", now) // b wants a slot and none is free
	assert.Equal(t, 3, p.Others("b", "n1")+p.Others("b", "n2"))
	assert.False(t, p.Take("a", "n2", now), "a holds its fair share (2) and more while b waits")
	assert.True(t, p.Take("b", "n2", now), "b is under its share")
	p.Release("a", "n1")
	assert.True(t, p.Take("b", "n1", now))
	assert.False(t, p.Take("b", "n1", now), "full")
	p.Leave("b")
	p.Release("a", "n1")
	assert.True(t, p.Take("a", "n1", now.Add(2*time.Second)), "b left: a may use everything again")
}

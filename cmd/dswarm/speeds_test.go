package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

func TestSpeedsFile(t *testing.T) {
	nodes := []scheduler.Node{{ID: "n1", Hostname: "a", Weight: 1, Slots: 1}, {ID: "n2", Hostname: "b", Weight: 12, Slots: 1}}
	t.Run("no file is an empty book", func(t *testing.T) {
		book, err := loadSpeeds(t.TempDir())
		require.NoError(t, err)
		assert.Empty(t, book.Nodes)
	})
	t.Run("written atomically and read back", func(t *testing.T) {
		root := t.TempDir()
		empty, _ := scheduler.ParseSpeedBook(nil)
		book := empty.Learn(nodes, empty.StartSpeeds(nodes), []float64{30, 30}, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
		b, err := book.Marshal()
		require.NoError(t, err)
		require.NoError(t, writeAtomic(filepath.Join(root, speedsFile), b))
		got, err := loadSpeeds(root)
		require.NoError(t, err)
		assert.Equal(t, book, got)
		entries, _ := os.ReadDir(root)
		require.Len(t, entries, 1, "no temporary file left")
		fi, _ := entries[0].Info()
		assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "readable by every dswarm")
		l, ok := got.Lookup(nodes[0])
		require.True(t, ok)
		assert.Equal(t, "6.5 (1 job)", learntColumn(&l))
		assert.Equal(t, "-", learntColumn(nil))
	})
	t.Run("a damaged file is an error and an empty book", func(t *testing.T) {
		root := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(root, speedsFile), []byte("{half"), 0o644))
		book, err := loadSpeeds(root)
		assert.ErrorContains(t, err, speedsFile)
		assert.Empty(t, book.Nodes)
	})
	t.Run("a job that measured nothing leaves the file alone", func(t *testing.T) {
		root := t.TempDir()
		x := &stack.Executor{Nodes: nodes}
		require.NoError(t, saveLearnt(root, x, time.Now()), "before Place")
		_, err := x.Place("j", []scheduler.Segment{{Count: 10}})
		require.NoError(t, err)
		require.NoError(t, saveLearnt(root, x, time.Now()))
		_, err = os.Stat(filepath.Join(root, speedsFile))
		assert.True(t, os.IsNotExist(err), "no file written")
	})
	t.Run("an unwritable folder is an error naming the file", func(t *testing.T) {
		err := writeAtomic(filepath.Join(t.TempDir(), "missing", speedsFile), []byte("{}"))
		assert.ErrorContains(t, err, "save ")
	})
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dswarm/dswarm/scheduler"
	"github.com/dswarm/dswarm/stack"
)

// speedsFile holds the node speeds learnt by earlier jobs, at the shared
// storage's root, where every dswarm that runs jobs on the swarm sees it.
// A small JSON file replaced atomically, not a database: an embedded
// database on network storage locks up (LESSONS.md).
const speedsFile = "speeds.json"

// speedsMu serialises the read-modify-write of the file between the jobs
// one `dswarm serve` runs at once. Between processes the last writer wins;
// the rename keeps the file whole either way.
var speedsMu sync.Mutex

// loadSpeeds reads the learnt speeds under root; no file is an empty book.
func loadSpeeds(root string) (scheduler.SpeedBook, error) {
	path := filepath.Join(root, speedsFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		empty, _ := scheduler.ParseSpeedBook(nil)
		return empty, fmt.Errorf("read learnt speeds %s: %w", path, err)
	}
	book, err := scheduler.ParseSpeedBook(b)
	if err != nil {
		return book, fmt.Errorf("%s: %w", path, err)
	}
	return book, nil
}

// saveLearnt adds the speeds job x measured to the file under root. A
// damaged file is replaced.
func saveLearnt(root string, x *stack.Executor, now time.Time) error {
	speedsMu.Lock()
	defer speedsMu.Unlock()
	book, _ := loadSpeeds(root)
	before, err := book.Marshal()
	if err != nil {
		return err
	}
	after, err := x.Learn(book, now).Marshal()
	if err != nil || bytes.Equal(before, after) {
		return err // nothing measured: the file stays as it is
	}
	return writeAtomic(filepath.Join(root, speedsFile), after)
}

// writeAtomic writes b to path through a temporary file in the same folder
// and a rename, so that a reader never sees half a file.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

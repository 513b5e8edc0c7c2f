package nfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
)

// The folders of the shared storage, under its root.
const (
	// UploadDir holds the sources; tasks only read it.
	UploadDir = "upload"
	// TmpDir holds one folder per job for its segments and encoded pieces.
	TmpDir = "tmp"
	// DownloadDir receives the finished outputs.
	DownloadDir = "download"
	// MarkerFile sits at the root of a set-up storage. A node whose share
	// failed to mount has an empty local folder in its place, without it.
	MarkerFile = ".dswarm-storage"
)

// Dirs lists the folders every storage has.
var Dirs = []string{UploadDir, TmpDir, DownloadDir}

// ErrNotMounted means the storage root lacks MarkerFile: most likely the
// share is not mounted there.
var ErrNotMounted = errors.New("shared storage not mounted")

var jobID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ValidJobID accepts job IDs that are one safe folder name: letters, digits,
// '.', '_' and '-', starting with a letter or digit, at most 128 bytes.
func ValidJobID(id string) error {
	if !jobID.MatchString(id) {
		return fmt.Errorf("job id %q: want 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit", id)
	}
	return nil
}

// Layout finds the folders of the storage mounted at Root: the host path on
// a node, the target inside a container.
type Layout struct {
	Root string
}

// Upload is the folder of the sources.
func (l Layout) Upload() string { return path.Join(l.Root, UploadDir) }

// Tmp is the folder of the jobs' work folders.
func (l Layout) Tmp() string { return path.Join(l.Root, TmpDir) }

// Download is the folder of the finished outputs.
func (l Layout) Download() string { return path.Join(l.Root, DownloadDir) }

// JobDir is the work folder of job id under tmp/.
func (l Layout) JobDir(id string) (string, error) {
	if err := ValidJobID(id); err != nil {
		return "", err
	}
	return path.Join(l.Tmp(), id), nil
}

// UploadFile is the path of name, relative to upload/.
func (l Layout) UploadFile(name string) (string, error) { return inside(l.Upload(), name) }

// DownloadFile is the path of name, relative to download/.
func (l Layout) DownloadFile(name string) (string, error) { return inside(l.Download(), name) }

// inside joins dir and the relative name, refusing names that leave dir.
func inside(dir, name string) (string, error) {
	if !filepath.IsLocal(name) || path.Clean(name) == "." {
		return "", fmt.Errorf("file %q: want a relative path inside %s", name, dir)
	}
	return path.Join(dir, name), nil
}

// Create makes the folders and the marker file. Run it once where the share
// is known to be mounted (on the server, or when setting up): on a node with
// a failed mount it would mark the empty local folder as storage.
func (l Layout) Create() error {
	for _, d := range Dirs {
		if err := os.MkdirAll(filepath.Join(l.Root, d), 0o775); err != nil {
			return fmt.Errorf("create storage: %w", err)
		}
	}
	marker := filepath.Join(l.Root, MarkerFile)
	if err := os.WriteFile(marker, []byte("dswarm shared storage; see nfs/README.md\n"), 0o644); err != nil {
		return fmt.Errorf("create storage: %w", err)
	}
	return nil
}

// Check makes sure the storage at Root is mounted and usable: the marker and
// the folders exist and tmp/ takes a new file. A hung network mount blocks
// file calls for good; Check then returns when ctx ends, leaving the blocked
// call behind.
func (l Layout) Check(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- l.check() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("storage %s: no answer: %w", l.Root, ctx.Err())
	}
}

func (l Layout) check() error {
	// Reading, not only a stat, so a mount that lists files but hangs on
	// reads is caught too.
	if _, err := os.ReadFile(filepath.Join(l.Root, MarkerFile)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("storage %s: no %s: %w (is the share mounted on this node?)", l.Root, MarkerFile, ErrNotMounted)
		}
		return fmt.Errorf("storage %s: %w", l.Root, err)
	}
	for _, d := range Dirs {
		fi, err := os.Stat(filepath.Join(l.Root, d))
		if err != nil {
			return fmt.Errorf("storage %s: %w", l.Root, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("storage %s: %s is not a folder", l.Root, d)
		}
	}
	f, err := os.CreateTemp(filepath.Join(l.Root, TmpDir), ".check-*")
	if err != nil {
		return fmt.Errorf("storage %s: tmp/ is not writable: %w", l.Root, err)
	}
	name := f.Name()
	err = f.Close()
	if rmErr := os.Remove(name); err == nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("storage %s: %w", l.Root, err)
	}
	return nil
}

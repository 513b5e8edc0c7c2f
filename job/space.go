package job

import (
	"fmt"
	"syscall"

	units "github.com/docker/go-units"
)

// lowSpace is the free space below which a failure in a folder is taken to
// be a full disk: ffmpeg does not always report a failed write (a segment
// can end short with exit status 0).
const lowSpace = 1 << 20

// diskFull reports a full filesystem at dir as an error that says so, or nil.
func diskFull(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free >= lowSpace {
		return nil
	}
	return fmt.Errorf("No space left on device in %s (%s free)", dir, units.BytesSize(float64(free)))
}

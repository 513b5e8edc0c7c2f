package server

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/internal/testmedia"
	"github.com/dswarm/dswarm/job"
)

// deleting is the local executor after it deletes the job's input, once,
// before the first segment task.
type deleting struct {
	job.Local
	once sync.Once
}

func (d *deleting) Run(ctx context.Context, t job.Task) (job.TaskResult, error) {
	if t.Role != job.RoleSegment {
		return d.Local.Run(ctx, t)
	}
	d.once.Do(func() {
		for _, a := range t.Args {
			if strings.HasSuffix(a, ".mp4") && strings.Contains(a, "/upload/") {
				os.Remove(a)
			}
		}
	})
	return d.Local.Run(ctx, t)
}

// TestDeletedInputFailsOnce: an uploaded input deleted while its job runs
// fails the job with one line naming it, and no segment is tried twice.
func TestDeletedInputFailsOnce(t *testing.T) {
	src := testmedia.Generate(t, testmedia.H264Pyramid)
	exec := &deleting{Local: job.Local{Hostname: "local"}}
	_, hs := testServer(t, "", nil, func(o *Options) {
		o.Run = func(ctx context.Context, cfg job.Config, resume bool) (*job.Summary, error) {
			cfg.Workers, cfg.SegmentDuration = 2, 2e9
			return job.Run(ctx, cfg, exec)
		}
	})
	in := upload(t, hs, "gone.mp4", src)
	var rec Record
	code, msg := call(t, "POST", hs.URL+"/api/v1/jobs", token, strings.NewReader(`{"input":"`+in+`","output":"gone.mkv","options":["-c:v","ffv1"]}`), &rec)
	require.Equal(t, 201, code, msg)
	done := waitJob(t, hs, rec.ID)
	require.Equal(t, StateFailed, done.State)
	assert.Regexp(t, `^(audio: )?input .*/`+filepath.Base(in)+`: no such file \(deleted while the job ran\)$`, done.Error)
	for _, seg := range done.Segments {
		assert.LessOrEqual(t, seg.Attempts, 1, "segment %d retried", seg.Index)
	}
}

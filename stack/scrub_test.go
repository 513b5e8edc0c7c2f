package stack

import (
	"context"
	"testing"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/nfs"
	"github.com/dswarm/dswarm/scheduler"
)

// TestExecutorScrubsMountSecrets: a task rejected because its CIFS volume
// did not mount carries the mount options, password included, in its
// error (Docker 20.10 does that); the executor's error keeps the cause and
// not the password, even where the password has spaces and colons in it.
func TestExecutorScrubsMountSecrets(t *testing.T) {
	onFakeClock(t, func(t *testing.T) {
		const password = "Tr0ub4dor: &3 x"
		cfg := nfs.Config{Mode: nfs.ModeCIFS, Target: "/srv/dswarm", CIFS: nfs.CIFS{Server: "10.0.0.9", Share: "media", CredentialsFile: "/run/secrets/cifs"}}
		m, err := cfg.Mount(nfs.Credentials{Username: "bob", Password: password})
		require.NoError(t, err)
		// As the engine reports it: failed, exit code 128, the container
		// never started.
		f := newFake(func(swarm.ServiceSpec) (swarm.TaskState, int) { return swarm.TaskStateFailed, 128 })
		f.taskErr = "starting container failed: error while mounting volume '/var/lib/docker/volumes/" + m.Source + "/_data': failed to mount local volume: mount //10.0.0.9/media:/var/lib/docker/volumes/" + m.Source + "/_data, data: " + m.VolumeOptions.DriverConfig.Options["o"] + ": no such device"
		x := newExec(f)
		x.Mounts = append(x.Mounts, m)
		_, err = x.Place("j", []scheduler.Segment{{Count: 1}})
		require.NoError(t, err)
		_, err = x.Run(context.Background(), job.Task{JobID: "j", Name: "seg-000", Role: job.RoleSegment, Segment: 0, Attempt: 1})
		require.Error(t, err)
		require.Contains(t, f.taskErr, password, "the fixture holds the password")
		for _, part := range []string{password, "Tr0ub4dor", "&3 x"} {
			assert.NotContains(t, err.Error(), part)
		}
		assert.Contains(t, err.Error(), "no such device")
		assert.Contains(t, err.Error(), "failed to mount local volume")
		assert.Contains(t, err.Error(), "task failed on node node1: starting container failed")
		assert.NotContains(t, err.Error(), "ffmpeg", "ffmpeg never ran")
	})
}

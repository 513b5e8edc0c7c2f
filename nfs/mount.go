package nfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/docker/docker/api/types/mount"
)

// Mount returns the mount that gives a service the shared storage at
// c.Target: a bind mount of the nodes' folder in hostpath mode, a volume of
// the local driver that mounts the export or share in nfs and cifs mode.
// cred is used in cifs mode only (see Config.LoadCredentials).
//
// In cifs mode the password is part of the volume options and so of the
// service spec, which anyone with access to the manager's API can read, and
// of the task error when the mount fails; hostpath mode with a credentials
// file on each node keeps it off the swarm.
func (c Config) Mount(cred Credentials) (mount.Mount, error) {
	if err := c.Validate(); err != nil {
		return mount.Mount{}, err
	}
	c = c.WithDefaults()
	var opts map[string]string
	switch c.Mode {
	case ModeHostPath:
		return mount.Mount{
			Type:     mount.TypeBind,
			Source:   c.HostPath,
			Target:   c.Target,
			ReadOnly: c.ReadOnly,
		}, nil
	case ModeNFS:
		opts = c.NFS.volumeOptions()
	case ModeCIFS:
		var err error
		if opts, err = c.CIFS.volumeOptions(cred); err != nil {
			return mount.Mount{}, fmt.Errorf("storage: %w", err)
		}
	}
	name := c.Volume
	if name == "" {
		name = derivedVolumeName(c.Mode, opts)
	}
	return mount.Mount{
		Type:     mount.TypeVolume,
		Source:   name,
		Target:   c.Target,
		ReadOnly: c.ReadOnly,
		VolumeOptions: &mount.VolumeOptions{
			// A new volume is otherwise filled with the image's files at
			// Target, written over the network into the share.
			NoCopy:       true,
			Labels:       map[string]string{"dswarm.storage": string(c.Mode)},
			DriverConfig: &mount.Driver{Name: "local", Options: opts},
		},
	}, nil
}

// derivedVolumeName names a volume after its driver options, so a node never
// reuses a volume made with other options (a changed password included: the
// old volume would keep mounting with the old one). The hash shows nothing
// that the service spec does not already hold.
func derivedVolumeName(mode Mode, opts map[string]string) string {
	h := sha256.New()
	for _, k := range []string{"type", "device", "o"} {
		fmt.Fprintf(h, "%s=%q\n", k, opts[k])
	}
	return fmt.Sprintf("%s-%s-%s", volumePrefix, mode, hex.EncodeToString(h.Sum(nil))[:12])
}

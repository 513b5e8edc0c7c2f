package nfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"path/filepath"
	"strings"

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

// Confined returns the mounts of a task that reads the whole storage but
// writes only into the folders dirs and the files files (paths relative to
// the storage root): the storage read-only at root.Target, and each of them
// mounted read-write over it at its own place. root is what Mount returned.
//
// A bind mount (hostpath mode) confines writes to exactly a folder or one
// file. A volume of the local driver mounts a folder of the export or share
// (NFSv4 and SMB both mount subfolders), never a file: for a file, its
// folder becomes writable. Each such folder is a volume of its own on every
// node that ran a task of it (Docker's local driver keeps volumes).
func Confined(root mount.Mount, dirs, files []string) ([]mount.Mount, error) {
	ro := root
	ro.ReadOnly = true
	out := []mount.Mount{ro}
	seen := map[string]bool{}
	for i, rel := range append(append([]string(nil), dirs...), files...) {
		if !filepath.IsLocal(rel) || path.Clean(rel) == "." {
			return nil, fmt.Errorf("writable path %q: want a path inside the storage", rel)
		}
		rel = path.Clean(filepath.ToSlash(rel))
		m, err := subMount(root, rel, i >= len(dirs))
		if err != nil {
			return nil, err
		}
		if !seen[m.Target] {
			seen[m.Target] = true
			out = append(out, m)
		}
	}
	return out, nil
}

// subMount is a read-write mount of rel inside root, at the same place
// under root.Target.
func subMount(root mount.Mount, rel string, file bool) (mount.Mount, error) {
	switch root.Type {
	case mount.TypeBind:
		return mount.Mount{Type: mount.TypeBind, Source: path.Join(root.Source, rel), Target: path.Join(root.Target, rel)}, nil
	case mount.TypeVolume:
		vo := root.VolumeOptions
		if vo == nil || vo.DriverConfig == nil || vo.DriverConfig.Options["device"] == "" {
			return mount.Mount{}, fmt.Errorf("storage volume %s: no driver options to mount a folder of it", root.Source)
		}
		if file {
			rel = path.Dir(rel)
		}
		if rel == "." {
			return mount.Mount{}, fmt.Errorf("storage volume %s: a file at its root cannot be mounted alone", root.Source)
		}
		opts := map[string]string{}
		for k, v := range vo.DriverConfig.Options {
			opts[k] = v
		}
		opts["device"] = strings.TrimSuffix(opts["device"], "/") + "/" + rel
		labels := map[string]string{}
		for k, v := range vo.Labels {
			labels[k] = v
		}
		mode := Mode(labels["dswarm.storage"])
		return mount.Mount{
			Type:   mount.TypeVolume,
			Source: derivedVolumeName(mode, opts),
			Target: path.Join(root.Target, rel),
			VolumeOptions: &mount.VolumeOptions{
				NoCopy:       true,
				Labels:       labels,
				DriverConfig: &mount.Driver{Name: vo.DriverConfig.Name, Options: opts},
			},
		}, nil
	}
	return mount.Mount{}, fmt.Errorf("storage mount of type %s: cannot mount a folder of it", root.Type)
}

// Package nfs describes the shared storage that every swarm node needs: where
// the services find it (a folder each node already mounts, or a Docker volume
// that mounts an NFS export or a CIFS share itself), the Docker mount that
// gives it to a service, the server and fstab lines that set it up, and the
// upload/ tmp/ download/ layout inside it.
//
// Everything here is pure except reading a credentials file and the layout's
// Create and Check, so the generated text and mounts are tested as values.
package nfs

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Mode says how service containers reach the shared storage.
type Mode string

const (
	// ModeHostPath bind-mounts a folder that every node already mounts (an
	// NFS or CIFS share in /etc/fstab with _netdev). It is the default: the
	// node's kernel keeps one mount, and no secret goes into a service spec.
	ModeHostPath Mode = "hostpath"
	// ModeNFS has Docker mount an NFS export for each task through a volume
	// of the local driver; nodes need no fstab entry, only NFS client support.
	ModeNFS Mode = "nfs"
	// ModeCIFS has Docker mount an SMB/CIFS share the same way.
	ModeCIFS Mode = "cifs"
)

// Modes lists the valid modes, the default first.
var Modes = []Mode{ModeHostPath, ModeNFS, ModeCIFS}

const (
	// DefaultHostPath is where nodes mount the share in hostpath mode.
	DefaultHostPath = "/srv/dswarm"
	// DefaultTarget is where service containers see the storage.
	DefaultTarget = "/srv/dswarm"
	// volumePrefix starts the names of the volumes of the nfs and cifs modes.
	volumePrefix = "dswarm-storage"
)

// Config is the shared storage as the swarm's services use it. The zero value
// is hostpath mode on /srv/dswarm.
type Config struct {
	// Mode is hostpath (the default when empty), nfs or cifs.
	Mode Mode
	// HostPath is the folder each node mounts the share on (hostpath mode;
	// default /srv/dswarm).
	HostPath string
	// Target is where service containers see the storage (default
	// /srv/dswarm). Keeping it equal to HostPath keeps paths in logs the same
	// inside and outside containers.
	Target string
	// NFS is the export for nfs mode. In hostpath mode it may still be set to
	// generate the nodes' fstab lines.
	NFS NFS
	// CIFS is the share for cifs mode, and likewise for fstab lines.
	CIFS CIFS
	// Volume names the Docker volume of the nfs and cifs modes. Empty means a
	// name derived from the mount options, so changed options make a new
	// volume: a node silently reuses an existing volume of the same name with
	// its old options.
	Volume string
	// ReadOnly mounts the storage read-only in service containers.
	ReadOnly bool
}

var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Mode == "" {
		c.Mode = ModeHostPath
	}
	if c.HostPath == "" {
		c.HostPath = DefaultHostPath
	}
	if c.Target == "" {
		c.Target = DefaultTarget
	}
	return c
}

// Validate reports every problem of c (after defaults) at once, or nil.
func (c Config) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if err := checkDir("target", c.Target); err != nil {
		errs = append(errs, err)
	}
	if c.Volume != "" && !volumeName.MatchString(c.Volume) {
		errs = append(errs, fmt.Errorf("volume name %q: want letters, digits, '_', '.' or '-'", c.Volume))
	}
	switch c.Mode {
	case ModeHostPath:
		if err := checkDir("host path", c.HostPath); err != nil {
			errs = append(errs, err)
		}
	case ModeNFS:
		if err := c.NFS.Validate(); err != nil {
			errs = append(errs, err)
		}
	case ModeCIFS:
		if err := c.CIFS.Validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("unknown storage mode %q (want hostpath, nfs or cifs)", c.Mode))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}

// checkDir accepts a clean absolute path other than "/" that fits in one
// mount option or fstab field.
func checkDir(what, p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%s is empty", what)
	case !path.IsAbs(p):
		return fmt.Errorf("%s %q is not an absolute path", what, p)
	case path.Clean(p) != p:
		return fmt.Errorf("%s %q is not clean (want %q)", what, p, path.Clean(p))
	case p == "/":
		return fmt.Errorf("%s is /: give the storage its own folder", what)
	case strings.ContainsAny(p, ",\n\t\x00"):
		return fmt.Errorf("%s %q contains a comma or control character", what, p)
	}
	return nil
}

// checkHost accepts a host name or an IPv4 or IPv6 address.
func checkHost(what, h string) error {
	switch {
	case h == "":
		return fmt.Errorf("%s: no server given", what)
	case strings.ContainsAny(h, ",=/\\ \t\n\x00"):
		return fmt.Errorf("%s: server %q is not a host name or address", what, h)
	}
	return nil
}

// reservedOptions are set by this package from their own fields; in a user's
// option list they would clash, and a password there would end up in shell
// history and process lists.
var reservedOptions = map[string]string{
	"addr":        "it is set from the server",
	"username":    "it comes from the credentials file",
	"user":        "it comes from the credentials file",
	"password":    "it comes from the credentials file",
	"pass":        "it comes from the credentials file",
	"domain":      "it comes from the credentials file",
	"credentials": "use the credentials file setting",
}

// checkOptions accepts mount options without separators or reserved keys.
func checkOptions(what string, opts []string) error {
	var errs []error
	for _, o := range opts {
		key, _, _ := strings.Cut(o, "=")
		switch {
		case o == "":
			errs = append(errs, fmt.Errorf("%s: empty mount option", what))
		case strings.ContainsAny(o, ", \t\n\x00"):
			errs = append(errs, fmt.Errorf("%s: mount option %q contains a comma or space (give one option per entry)", what, o))
		case reservedOptions[key] != "":
			errs = append(errs, fmt.Errorf("%s: mount option %s= is not allowed: %s", what, key, reservedOptions[key]))
		}
	}
	return errors.Join(errs...)
}

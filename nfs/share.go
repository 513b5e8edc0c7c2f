package nfs

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// NFS is an export of an NFS server.
type NFS struct {
	// Server is the server's host name or address.
	Server string
	// Export is the exported path on the server, e.g. /export/dswarm.
	Export string
	// Options are the mount options; nil means DefaultNFSOptions.
	Options []string
}

// DefaultNFSOptions returns the mount options used when NFS.Options is nil.
// NFSv4 needs one port (2049) and no side daemons. Docker's local driver
// mounts without the mount.nfs helper, and NFSv3 locking needs rpc.statd,
// which that helper starts.
func DefaultNFSOptions() []string { return []string{"rw", "nfsvers=4"} }

func (n NFS) options() []string {
	if n.Options == nil {
		return DefaultNFSOptions()
	}
	return n.Options
}

// Validate reports every problem of n, or nil.
func (n NFS) Validate() error {
	errs := []error{checkHost("nfs", n.Server)}
	if err := checkDir("nfs export", n.Export); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkOptions("nfs", n.options()))
	return errors.Join(errs...)
}

// device is the server and path as mount.nfs and fstab write them.
func (n NFS) device() string {
	host := n.Server
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + n.Export
}

// volumeOptions are the local driver's options for a volume on the export.
// The driver calls mount(2) itself: the server goes in addr= (the driver
// resolves a host name there) and the device is only ":" and the path.
func (n NFS) volumeOptions() map[string]string {
	return map[string]string{
		"type":   "nfs",
		"o":      strings.Join(append([]string{"addr=" + n.Server}, n.options()...), ","),
		"device": ":" + n.Export,
	}
}

// FstabLine returns the /etc/fstab line that mounts the export on mountpoint
// on a node.
func (n NFS) FstabLine(mountpoint string) (string, error) {
	if err := errors.Join(n.Validate(), checkDir("mount point", mountpoint)); err != nil {
		return "", fmt.Errorf("fstab line: %w", err)
	}
	return fstabLine(n.device(), mountpoint, "nfs", n.options()), nil
}

// CIFS is an SMB/CIFS share (Samba, Windows, a NAS).
type CIFS struct {
	// Server is the server's host name or address.
	Server string
	// Share is the share name, optionally followed by a folder in it
	// ("media" or "media/dswarm").
	Share string
	// CredentialsFile holds username=, password= and optionally domain=
	// lines (the mount.cifs credentials format). In fstab lines it is the
	// node's file; in cifs mode it is read where dswarm runs, for example a
	// Docker secret such as /run/secrets/dswarm-cifs. Not needed with the
	// guest option.
	CredentialsFile string
	// NoPerm adds noperm: the client skips its own permission checks and
	// leaves them to the server. Shares mounted with one owner for all files
	// otherwise refuse writes from containers that run as another user.
	NoPerm bool
	// Options are further mount options, e.g. vers=3.0, uid=1000, guest.
	Options []string
}

// guest reports whether the share is mounted without credentials.
func (s CIFS) guest() bool { return slices.Contains(s.Options, "guest") }

// Validate reports every problem of s, or nil.
func (s CIFS) Validate() error {
	errs := []error{checkHost("cifs", s.Server)}
	switch {
	case s.Share == "":
		errs = append(errs, errors.New("cifs: no share name given"))
	case strings.HasPrefix(s.Share, "/") || strings.HasSuffix(s.Share, "/"):
		errs = append(errs, fmt.Errorf("cifs: share %q: give the name without slashes around it (the device becomes //server/share)", s.Share))
	case strings.ContainsAny(s.Share, ",\\\n\t\x00"):
		errs = append(errs, fmt.Errorf("cifs: share %q contains a comma, backslash or control character", s.Share))
	}
	switch {
	case s.CredentialsFile == "" && !s.guest():
		errs = append(errs, errors.New("cifs: no credentials file given (or add the guest option)"))
	case s.CredentialsFile != "" && !path.IsAbs(s.CredentialsFile):
		errs = append(errs, fmt.Errorf("cifs: credentials file %q is not an absolute path", s.CredentialsFile))
	case strings.ContainsAny(s.CredentialsFile, ", \t\n\x00"):
		errs = append(errs, fmt.Errorf("cifs: credentials file %q contains a comma or space", s.CredentialsFile))
	}
	errs = append(errs, checkOptions("cifs", s.Options))
	return errors.Join(errs...)
}

// device is the share as mount.cifs and fstab write it.
func (s CIFS) device() string { return "//" + s.Server + "/" + s.Share }

// volumeOptions are the local driver's options for a volume on the share.
// The kernel reads no credentials file, so the user name and password go
// into the options; a comma in the password is doubled, the kernel's escape.
func (s CIFS) volumeOptions(cred Credentials) (map[string]string, error) {
	opts := []string{"addr=" + s.Server}
	if !s.guest() {
		if err := cred.validate(); err != nil {
			return nil, fmt.Errorf("cifs credentials from %s: %w", s.CredentialsFile, err)
		}
		opts = append(opts, "username="+cred.Username, "password="+strings.ReplaceAll(cred.Password, ",", ",,"))
		if cred.Domain != "" {
			opts = append(opts, "domain="+cred.Domain)
		}
	}
	if s.NoPerm {
		opts = append(opts, "noperm")
	}
	opts = append(opts, s.Options...)
	return map[string]string{
		"type":   "cifs",
		"o":      strings.Join(opts, ","),
		"device": s.device(),
	}, nil
}

// FstabLine returns the /etc/fstab line that mounts the share on mountpoint
// on a node, with the password kept in the credentials file.
func (s CIFS) FstabLine(mountpoint string) (string, error) {
	if err := errors.Join(s.Validate(), checkDir("mount point", mountpoint)); err != nil {
		return "", fmt.Errorf("fstab line: %w", err)
	}
	var opts []string
	if s.CredentialsFile != "" {
		opts = append(opts, "credentials="+s.CredentialsFile)
	}
	if s.NoPerm {
		opts = append(opts, "noperm")
	}
	opts = append(opts, s.Options...)
	return fstabLine(s.device(), mountpoint, "cifs", opts), nil
}

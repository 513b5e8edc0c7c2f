package nfs

import (
	"slices"
	"strings"
)

// networkMountOptions go into every fstab line of this package.
//
// _netdev marks the mount as needing the network, so it waits for the
// network to be up. Without it the mount is tried too early at boot, fails,
// and the node runs with an empty local folder where the share should be:
// tasks placed there fail or write where nobody sees their output, and in
// practice everything ends up on the manager.
//
// x-systemd.automount mounts on first access instead of at boot, so a node
// still boots when the server is late, and a task touching the folder waits
// for the share rather than seeing the empty mount point.
var networkMountOptions = []string{"_netdev", "x-systemd.automount"}

// fstabLine assembles one fstab line, escaping the fields.
func fstabLine(device, mountpoint, fstype string, opts []string) string {
	all := slices.Clone(opts)
	for _, o := range networkMountOptions {
		if !slices.Contains(all, o) {
			all = append(all, o)
		}
	}
	return strings.Join([]string{
		fstabEscape(device),
		fstabEscape(mountpoint),
		fstype,
		strings.Join(all, ","),
		"0", "0",
	}, " ")
}

// fstabEscape writes space, tab, newline and backslash in octal, as fstab(5)
// wants them inside a field.
var fstabEscape = strings.NewReplacer(
	`\`, `\134`,
	" ", `\040`,
	"\t", `\011`,
	"\n", `\012`,
).Replace

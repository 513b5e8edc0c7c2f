package nfs

import (
	"errors"
	"fmt"
	"strings"
)

// ServerExport is one export of the NFS server (a line of /etc/exports).
type ServerExport struct {
	// Path is the exported folder on the server, e.g. /export/dswarm.
	Path string
	// Clients are the hosts or networks allowed to mount it, e.g.
	// 192.168.1.0/24 or pi-*.lan; none means every host ("*").
	Clients []string
	// ReadOnly exports read-only.
	ReadOnly bool
	// Async lets the server answer writes before they reach its disk:
	// faster, but a server crash loses data the clients think written.
	Async bool
	// SecurePorts drops the insecure option, so the server accepts only
	// clients that connect from ports below 1024. macOS and some other
	// clients, and NAT in between, use higher ports, and their mounts then
	// fail with "access denied"; leave it false unless all clients are
	// known Linux hosts.
	SecurePorts bool
	// SquashAll maps every client user to AnonUID:AnonGID. By default root
	// stays root (no_root_squash): tasks run as root in their containers and
	// must create files in tmp/ and download/.
	SquashAll bool
	// AnonUID and AnonGID own the files written with SquashAll.
	AnonUID, AnonGID int
}

// Line returns the /etc/exports line, e.g.
//
//	/export/dswarm 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash,insecure)
func (e ServerExport) Line() (string, error) {
	if err := e.validate(); err != nil {
		return "", fmt.Errorf("exports line: %w", err)
	}
	opts := []string{"rw", "sync", "no_subtree_check"}
	if e.ReadOnly {
		opts[0] = "ro"
	}
	if e.Async {
		opts[1] = "async"
	}
	if e.SquashAll {
		opts = append(opts, "all_squash", fmt.Sprintf("anonuid=%d", e.AnonUID), fmt.Sprintf("anongid=%d", e.AnonGID))
	} else {
		opts = append(opts, "no_root_squash")
	}
	if !e.SecurePorts {
		// Accept client ports above 1024 (see SecurePorts).
		opts = append(opts, "insecure")
	}
	clients := e.Clients
	if len(clients) == 0 {
		clients = []string{"*"}
	}
	o := "(" + strings.Join(opts, ",") + ")"
	fields := []string{fstabEscape(e.Path)}
	for _, c := range clients {
		fields = append(fields, c+o)
	}
	return strings.Join(fields, " "), nil
}

func (e ServerExport) validate() error {
	errs := []error{checkDir("export path", e.Path)}
	for _, c := range e.Clients {
		if c == "" || strings.ContainsAny(c, "() \t\n\x00") {
			errs = append(errs, fmt.Errorf("client %q is not a host, network or pattern", c))
		}
	}
	if e.SquashAll && (e.AnonUID < 0 || e.AnonGID < 0) {
		errs = append(errs, fmt.Errorf("anonymous user %d:%d is negative", e.AnonUID, e.AnonGID))
	}
	return errors.Join(errs...)
}

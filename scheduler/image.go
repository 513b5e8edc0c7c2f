package scheduler

import (
	"fmt"
	"strings"
)

// NodeImage is what one node's engine holds under the worker image's name
// (Ref), as a probe on that node found it: whether it is there, its ID,
// and the platform its config declares, in Go's names (linux, arm64, v8).
// Only the node's own engine knows this; stack finds it out with a
// one-shot probe service per node and caches it in a node label.
type NodeImage struct {
	Ref string
	// Checked says a probe answered (or its cached answer held). A node
	// nobody checked is assumed to run the image, as before any check.
	Checked bool
	Present bool
	ID      string
	OS      string
	Arch    string
	Variant string
	// Err is what kept the probe from telling ("exec format error": an
	// image of another architecture on a node without emulation).
	Err string
}

// Platform is the image's platform as Docker writes it: "linux/arm64/v8".
func (i NodeImage) Platform() string {
	p := i.OS + "/" + i.Arch
	if i.Variant != "" {
		p += "/" + i.Variant
	}
	return p
}

// UnameArch is the name Swarm reports as node.platform.arch (the node's
// `uname -m`) for an image architecture and variant in Go's names; "" for
// one it does not know.
func UnameArch(arch, variant string) string {
	switch arch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "arm":
		switch variant {
		case "v5":
			return "armv5l"
		case "v6":
			return "armv6l"
		}
		return "armv7l" // Docker's default arm variant
	case "386":
		return "i686"
	case "ppc64le", "s390x", "riscv64":
		return arch
	}
	return ""
}

// RunsOn says whether the image runs natively on a node of arch nodeArch
// (uname's name). Strict: an aarch64 node that could run 32-bit arm code
// is not counted on, since not every arm64 CPU can.
func (i NodeImage) RunsOn(nodeArch string) bool {
	want := UnameArch(i.Arch, i.Variant)
	if want == "i686" && (nodeArch == "i386" || nodeArch == "i586") {
		return true
	}
	return want != "" && want == nodeArch && (i.OS == "" || i.OS == "linux")
}

// imageProblem is why node n cannot run its image, "" when it can (or
// nobody checked): "no dswarm/worker:latest for aarch64 (it holds
// linux/amd64)".
func imageProblem(n Node) string {
	img := n.Image
	if !img.Checked {
		return ""
	}
	ref := img.Ref
	if ref == "" {
		ref = "worker image"
	}
	switch {
	case img.Err != "":
		return fmt.Sprintf("%s does not run on %s: %s", ref, n.Arch, oneLine(img.Err))
	case !img.Present:
		return fmt.Sprintf("no %s for %s (image missing)", ref, n.Arch)
	case !img.RunsOn(n.Arch):
		return fmt.Sprintf("no %s for %s (it holds %s)", ref, n.Arch, img.Platform())
	}
	return ""
}

// imageFilter rejects a node whose image is missing or of another
// architecture, naming both.
func imageFilter() filter {
	return filter{name: "wrong image", check: func(n Node) bool { return imageProblem(n) == "" }, why: imageProblem}
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

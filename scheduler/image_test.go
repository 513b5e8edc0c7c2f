package scheduler

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestImageFilter(t *testing.T) {
	const ref = "dswarm/worker:latest"
	amd64 := NodeImage{Ref: ref, Checked: true, Present: true, ID: "sha256:a", OS: "linux", Arch: "amd64"}
	arm64 := NodeImage{Ref: ref, Checked: true, Present: true, ID: "sha256:b", OS: "linux", Arch: "arm64", Variant: "v8"}
	armv7 := NodeImage{Ref: ref, Checked: true, Present: true, ID: "sha256:c", OS: "linux", Arch: "arm", Variant: "v7"}
	missing := NodeImage{Ref: ref, Checked: true}
	for _, tc := range []struct {
		name  string
		arch  string
		image NodeImage
		why   string // "" = eligible
	}{
		{"unchecked node is assumed to run it", "aarch64", NodeImage{}, ""},
		{"amd64 image on x86_64", "x86_64", amd64, ""},
		{"arm64 image on aarch64", "aarch64", arm64, ""},
		{"arm/v7 image on armv7l", "armv7l", armv7, ""},
		{"arm without variant is v7", "armv7l", NodeImage{Ref: ref, Checked: true, Present: true, OS: "linux", Arch: "arm"}, ""},
		{"missing image", "aarch64", missing, "no dswarm/worker:latest for aarch64 (image missing)"},
		{"amd64 image on aarch64", "aarch64", amd64, "no dswarm/worker:latest for aarch64 (it holds linux/amd64)"},
		{"arm64 image on x86_64", "x86_64", arm64, "no dswarm/worker:latest for x86_64 (it holds linux/arm64/v8)"},
		{"arm/v7 image on aarch64 is not counted on", "aarch64", armv7, "no dswarm/worker:latest for aarch64 (it holds linux/arm/v7)"},
		{"arm/v6 image on armv7l", "armv7l", NodeImage{Ref: ref, Checked: true, Present: true, OS: "linux", Arch: "arm", Variant: "v6"}, "no dswarm/worker:latest for armv7l (it holds linux/arm/v6)"},
		{"windows image", "x86_64", NodeImage{Ref: ref, Checked: true, Present: true, OS: "windows", Arch: "amd64"}, "no dswarm/worker:latest for x86_64 (it holds windows/amd64)"},
		{"unknown arch", "mips", NodeImage{Ref: ref, Checked: true, Present: true, OS: "linux", Arch: "mips"}, "no dswarm/worker:latest for mips (it holds linux/mips)"},
		{"probe could not run it", "armv7l", NodeImage{Ref: ref, Checked: true, Present: true, Err: "exec format error\nmore"}, "dswarm/worker:latest does not run on armv7l: exec format error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := Node{ID: "1", Hostname: "n", Arch: tc.arch, State: "ready", Availability: "active", Weight: 4, HasImage: true, Image: tc.image}
			f := Feasible([]Node{n}, nil)
			if tc.why == "" {
				require.Len(t, f.Nodes, 1)
				assert.Empty(t, f.Rejected)
				return
			}
			assert.Empty(t, f.Nodes)
			assert.Equal(t, map[string]string{"n": tc.why}, f.Rejected)
		})
	}
}

func TestImageFilterExplains(t *testing.T) {
	const ref = "dswarm/worker:latest"
	x86 := Node{ID: "1", Hostname: "x86", Arch: "x86_64", State: "ready", Availability: "active", Weight: 4, HasImage: true,
		Image: NodeImage{Ref: ref, Checked: true, Present: true, OS: "linux", Arch: "amd64"}}
	pi1, pi2, down := x86, x86, x86
	pi1.Hostname, pi1.Arch = "pi-1", "aarch64"
	pi2.Hostname, pi2.Arch, pi2.Image = "pi-2", "aarch64", NodeImage{Ref: ref, Checked: true}
	down.Hostname, down.State, down.Image = "gone", "down", NodeImage{Ref: ref, Checked: true}
	f := Feasible([]Node{x86, pi1, pi2, down}, nil)
	require.Len(t, f.Nodes, 1)
	assert.Equal(t, "x86", f.Nodes[0].Hostname)
	assert.Equal(t, "down", f.Rejected["gone"], "the state is the first reason")
	assert.Equal(t, "down on 1; no dswarm/worker:latest for aarch64 (image missing) on 1; no dswarm/worker:latest for aarch64 (it holds linux/amd64) on 1", f.Explain())
}

func TestUnameArch(t *testing.T) {
	for _, tc := range []struct{ arch, variant, want string }{
		{"amd64", "", "x86_64"}, {"arm64", "v8", "aarch64"}, {"arm64", "", "aarch64"}, {"arm", "v7", "armv7l"},
		{"arm", "v6", "armv6l"}, {"arm", "", "armv7l"}, {"386", "", "i686"}, {"ppc64le", "", "ppc64le"}, {"wasm", "", ""},
	} {
		assert.Equal(t, tc.want, UnameArch(tc.arch, tc.variant), "%s/%s", tc.arch, tc.variant)
	}
	assert.Equal(t, "linux/arm64/v8", NodeImage{OS: "linux", Arch: "arm64", Variant: "v8"}.Platform())
}

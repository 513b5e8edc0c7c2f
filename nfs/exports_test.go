package nfs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServerExportLine(t *testing.T) {
	tests := []struct {
		name string
		e    ServerExport
		want string
	}{
		{
			name: "defaults: every client, insecure ports, root stays root",
			e:    ServerExport{Path: "/export/dswarm"},
			want: "/export/dswarm *(rw,sync,no_subtree_check,no_root_squash,insecure)",
		},
		{
			name: "two networks",
			e:    ServerExport{Path: "/export/dswarm", Clients: []string{"192.168.1.0/24", "10.0.0.7"}},
			want: "/export/dswarm 192.168.1.0/24(rw,sync,no_subtree_check,no_root_squash,insecure) 10.0.0.7(rw,sync,no_subtree_check,no_root_squash,insecure)",
		},
		{
			name: "secure ports, squash all, async, read-only",
			e: ServerExport{Path: "/srv/media", Clients: []string{"pi-*.lan"}, ReadOnly: true, Async: true,
				SecurePorts: true, SquashAll: true, AnonUID: 1000, AnonGID: 100},
			want: "/srv/media pi-*.lan(ro,async,no_subtree_check,all_squash,anonuid=1000,anongid=100)",
		},
		{
			name: "space in path is escaped",
			e:    ServerExport{Path: "/export/my media"},
			want: `/export/my\040media *(rw,sync,no_subtree_check,no_root_squash,insecure)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.e.Line()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestServerExportLineErrors(t *testing.T) {
	tests := []struct {
		name string
		e    ServerExport
		want string
	}{
		{name: "no path", e: ServerExport{}, want: "exports line: export path is empty"},
		{name: "relative path", e: ServerExport{Path: "export"}, want: `export path "export" is not an absolute path`},
		{name: "client with options", e: ServerExport{Path: "/e", Clients: []string{"host(rw)"}}, want: `client "host(rw)"`},
		{name: "empty client", e: ServerExport{Path: "/e", Clients: []string{""}}, want: `client ""`},
		{name: "negative anonuid", e: ServerExport{Path: "/e", SquashAll: true, AnonUID: -1}, want: "anonymous user -1:0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.e.Line()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// clusterNodes are the node containers of test/cluster.
var clusterNodes = []string{"dswarm-node1", "dswarm-node2", "dswarm-node3"}

// leftoverContainers lists, per node, the containers of dswarm's job
// services still on it (running or exited), waiting up to within for the
// engines to remove those of services removed a moment ago.
func leftoverContainers(within time.Duration) map[string][]string {
	deadline := time.Now().Add(within)
	for {
		left := map[string][]string{}
		nodes := clusterNodes
		if arm := os.Getenv("DSWARM_ARM_NODE"); arm != "" {
			nodes = append(nodes[:len(nodes):len(nodes)], arm)
		}
		for _, node := range nodes {
			cmd := exec.Command("docker", "exec", node, "docker", "ps", "-a", "--filter", "label=dswarm.job",
				"--format", "{{.Names}} {{.Status}}")
			cmd.Env = withoutEnv(os.Environ(), "DOCKER_HOST")
			out, err := cmd.CombinedOutput()
			if err != nil {
				left[node] = []string{fmt.Sprintf("docker ps failed: %v: %s", err, strings.TrimSpace(string(out)))}
				continue
			}
			if s := strings.TrimSpace(string(out)); s != "" {
				left[node] = strings.Split(s, "\n")
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(time.Second)
	}
}

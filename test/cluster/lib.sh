# shellcheck shell=bash disable=SC2034 # the variables are used by the sourcing scripts
# Shared names and helpers of the test cluster scripts; sourced, not run.
# Every setting can be overridden from the environment.

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
state_dir=${DSWARM_CLUSTER_DIR:-$repo/.cluster}
storage_host=$state_dir/storage
# The path where every node sees the shared folder, as an NFS mount from fstab
# would put it.
storage_node=${DSWARM_STORAGE:-/srv/dswarm}
network=${DSWARM_CLUSTER_NETWORK:-dswarm-cluster}
port=${DSWARM_CLUSTER_PORT:-23750}
node_image=${DSWARM_NODE_IMAGE:-dswarm/dind:latest}
worker_image=${DSWARM_IMAGE:-dswarm/worker:latest}
nodes=(dswarm-node1 dswarm-node2 dswarm-node3)
weights=(48 36 12)
# Marks every container and network the harness makes, so down.sh removes
# exactly those.
cluster_label=dswarm.test-cluster=1

# The harness drives the machine's own engine. A shell that sourced
# .cluster/env points DOCKER_HOST at the swarm manager inside node1 instead.
if [ "${DOCKER_HOST:-}" = "tcp://127.0.0.1:$port" ]; then
  unset DOCKER_HOST
fi

log() { echo "cluster: [${SECONDS}s] $*"; }
die() { echo "cluster: $*" >&2; exit 1; }

# retry N SECONDS CMD...: runs CMD until it succeeds, at most N times.
retry() {
  local n=$1 pause=$2 i
  shift 2
  for ((i = 1; i <= n; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep "$pause"
  done
  return 1
}

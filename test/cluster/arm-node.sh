#!/usr/bin/env bash
# A prototype aarch64 Swarm node on this x86_64 machine (ENVIRONMENT.md,
# "Foreign architectures", recipe 2): a docker-in-docker node whose dockerd
# runs under archnode (test/cluster/archnode), so its uname says aarch64 and
# Swarm reports node.platform.arch == aarch64, while containerd, runc and
# the task containers are native; overlay networks work. The worker image
# loaded into it is the arm64 one (make images ARCHS="amd64 arm64"): its
# ffmpeg runs under qemu binfmt emulation, about as fast as a Pi.
#
#   test/cluster/arm-node.sh up      # join the swarm whose manager is $ARM_MANAGER
#   test/cluster/arm-node.sh down
#
# Settings: ARM_NODE (dswarm-arm1), ARM_MANAGER (dswarm-node1),
# ARM_NETWORK (dswarm-cluster), ARM_STORAGE_HOST (.cluster/storage, mounted
# at $DSWARM_STORAGE or /srv/dswarm), ARM_IMAGE (dswarm/worker:latest-arm64,
# loaded and tagged $DSWARM_IMAGE or dswarm/worker:latest; "" loads none),
# ARM_WEIGHT (dswarm.weight label, 4). make cluster-up (and so make test)
# runs it, unless DSWARM_ARM_NODE=0.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
node=${ARM_NODE:-dswarm-arm1}
manager=${ARM_MANAGER:-dswarm-node1}
network=${ARM_NETWORK:-dswarm-cluster}
storage_host=${ARM_STORAGE_HOST:-$repo/.cluster/storage}
storage_node=${DSWARM_STORAGE:-/srv/dswarm}
arm_image=${ARM_IMAGE-dswarm/worker:latest-arm64}
worker_image=${DSWARM_IMAGE:-dswarm/worker:latest}
weight=${ARM_WEIGHT:-4}
state=${TMPDIR:-/tmp}/dswarm-$node
unset DOCKER_HOST

log() { echo "arm-node: [${SECONDS}s] $*"; }
die() { echo "arm-node: $*" >&2; exit 1; }

if [ "${1:-up}" = down ]; then
  # By the node's ID: an earlier node of the same name may still be listed.
  id=$(docker exec "$node" docker info -f '{{.Swarm.NodeID}}' 2>/dev/null || true)
  if [ -n "$id" ]; then
    docker exec "$node" docker swarm leave --force >/dev/null 2>&1 || true
    docker exec "$manager" docker node rm --force "$id" >/dev/null 2>&1 || true
  fi
  docker rm -f -v "$node" >/dev/null 2>&1 || true
  rm -rf "$state"
  exit 0
fi

[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] ||
  die "qemu-aarch64 is not registered in binfmt_misc (apt-get install -y qemu-user-static binfmt-support)"
mkdir -p "$state"
CGO_ENABLED=0 go -C "$repo" build -o "$state/archnode" ./test/cluster/archnode
# dockerd is found first here, and starts under archnode; containerd runs
# outside it, so containers (containerd's children) see the real machine.
cat >"$state/dockerd" <<'W'
#!/bin/sh
exec /archnode/archnode /usr/sbin/dockerd "$@"
W
cat >"$state/run" <<'W'
#!/bin/sh
set -e
containerd >/var/log/containerd.log 2>&1 &
i=0; while [ ! -S /run/containerd/containerd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
PATH=/archnode:$PATH exec dind-entrypoint --containerd=/run/containerd/containerd.sock "$@"
W
chmod +x "$state/dockerd" "$state/run" "$state/archnode"

docker run -d --init --name "$node" --hostname "$node" --network "$network" \
  --label dswarm.test-cluster=1 \
  --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
  --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm' -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
  -v "$state:/archnode:ro" -v "$storage_host:$storage_node" \
  --entrypoint /archnode/run dswarm/dind:latest >/dev/null || die "docker run of $node failed"
for _ in $(seq 60); do docker exec "$node" docker info >/dev/null 2>&1 && break; sleep 1; done
arch=$(docker exec "$node" docker info -f '{{.Architecture}}') || die "dockerd in $node did not answer (docker logs $node)"
[ "$arch" = aarch64 ] || die "dockerd in $node reports $arch, not aarch64"
log "engine up in $node, architecture $arch"

addr=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$manager")
token=$(docker exec "$manager" docker swarm join-token -q worker)
docker exec "$node" docker swarm join --token "$token" "$addr:2377" >/dev/null || die "swarm join failed"
id=$(docker exec "$node" docker info -f '{{.Swarm.NodeID}}')
for _ in $(seq 60); do
  [ "$(docker exec "$manager" docker node inspect -f '{{.Status.State}}' "$id" 2>/dev/null)" = ready ] && break
  sleep 1
done
docker exec "$manager" docker node update --label-add "dswarm.weight=$weight" "$id" >/dev/null
log "joined as $id: node.platform.arch=$(docker exec "$manager" docker node inspect -f '{{.Description.Platform.Architecture}}' "$id")"

if [ -n "$arm_image" ]; then
  docker save "$arm_image" | docker exec -i "$node" docker load -q >/dev/null || die "loading $arm_image failed"
  docker exec "$node" docker tag "$arm_image" "$worker_image"
  log "loaded $arm_image as $worker_image ($(docker exec "$node" docker image inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}}' "$worker_image"))"
fi
log "up in ${SECONDS}s"

#!/usr/bin/env bash
# Starts a three-node Docker Swarm on this machine, each node a container
# running its own dockerd: dswarm-node1 (manager), dswarm-node2 and
# dswarm-node3 (workers), labelled dswarm.weight = 48, 36, 12. A host folder
# (.cluster/storage) is mounted at /srv/dswarm in every node, standing in for
# an NFS share mounted from fstab. The manager's API is published on
# tcp://127.0.0.1:23750 and .cluster/env holds the settings for clients:
#
#   ./test/cluster/up.sh && . .cluster/env && docker node ls
#
# Settings: DSWARM_IMAGE (dswarm/worker:latest, loaded into every node),
# DSWARM_CLUSTER_PORT (23750), DSWARM_STORAGE (/srv/dswarm),
# DIND_STORAGE_DRIVER (empty: overlay2 where it works, else vfs),
# DSWARM_NODE_CPUS (e.g. "1 0.75 0.25": CPU limit per node, none by default),
# DSWARM_NODE_CPUSETS (e.g. "0 1 0-1": the CPUs each node and its tasks may
# run on, docker run --cpuset-cpus; none by default).
# A cluster left over from an earlier run is removed first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"

start=$SECONDS
read -r -a node_cpus <<<"${DSWARM_NODE_CPUS:-}"
read -r -a node_cpusets <<<"${DSWARM_NODE_CPUSETS:-}"

command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "no Docker daemon answers (is dockerd running?)"
docker image inspect "$worker_image" >/dev/null 2>&1 ||
  die "worker image $worker_image is missing (run: make images)"
if [ ${#node_cpus[@]} -ne 0 ] && [ ${#node_cpus[@]} -ne ${#nodes[@]} ]; then
  die "DSWARM_NODE_CPUS needs ${#nodes[@]} values, got '${DSWARM_NODE_CPUS}'"
fi
if [ ${#node_cpusets[@]} -ne 0 ] && [ ${#node_cpusets[@]} -ne ${#nodes[@]} ]; then
  die "DSWARM_NODE_CPUSETS needs ${#nodes[@]} values, got '${DSWARM_NODE_CPUSETS}'"
fi

if [ -n "$(docker ps -aq --filter "label=$cluster_label")" ] ||
  [ -n "$(docker network ls -q --filter "label=$cluster_label")" ] || [ -d "$state_dir" ]; then
  log "an earlier cluster exists; taking it down first"
  "$here/down.sh"
fi

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  "$repo/images/base-image.sh"
fi
log "building node image $node_image"
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0
if ! out=$(docker build -q -t "$node_image" "$here/node" 2>&1); then
  tail -n 20 <<<"$out" >&2
  die "docker build of $node_image from $here/node failed (output above)"
fi

mkdir -p "$storage_host"/{upload,tmp,download}
# The marker nfs.Layout.Check looks for: without it a node's folder is taken
# for a share that failed to mount.
echo "dswarm shared storage; see nfs/README.md" >"$storage_host/.dswarm-storage"
# Save the worker image once while the nodes start; each node loads the file.
docker save -o "$state_dir/worker.tar" "$worker_image" &
save_pid=$!
on_exit() {
  local rc=$?
  kill "$save_pid" 2>/dev/null || true
  [ "$rc" = 0 ] || echo "cluster: up failed; the partial cluster stays for a look (make cluster-down removes it)" >&2
}
trap on_exit EXIT

# --privileged is what a real host would use; where the machine's capability
# bounding set lacks CAP_SYS_RESOURCE it fails ("unable to apply caps"), and
# this explicit set is the nearest that works.
if docker run --rm --privileged --entrypoint true "$node_image" >/dev/null 2>&1; then
  log "node containers run --privileged"
  run_flags=(--privileged)
else
  log "--privileged is refused here; using all capabilities but SYS_RESOURCE"
  run_flags=(--cap-add ALL --cap-drop SYS_RESOURCE
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined
    --security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm'
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw)
fi

# Keep the host's MTU (the default bridge carries the daemon's --mtu).
mtu=$(docker network inspect bridge -f '{{index .Options "com.docker.network.driver.mtu"}}' 2>/dev/null || true)
docker network create --label "$cluster_label" ${mtu:+--opt "com.docker.network.driver.mtu=$mtu"} \
  "$network" >/dev/null || die "docker network create $network failed"

for i in "${!nodes[@]}"; do
  node=${nodes[$i]}
  extra=()
  engine_args=()
  if [ "$i" = 0 ]; then
    # Plain TCP, published on loopback only: good enough for tests. An
    # explicit --tls=false skips dockerd's 15 s warning delay.
    extra+=(-p "127.0.0.1:$port:2375")
    engine_args+=(--host=tcp://0.0.0.0:2375 --tls=false)
  fi
  [ ${#node_cpus[@]} -eq 0 ] || extra+=(--cpus "${node_cpus[$i]}")
  [ ${#node_cpusets[@]} -eq 0 ] || extra+=(--cpuset-cpus "${node_cpusets[$i]}")
  # --init reaps the orphans dockerd leaves behind as PID 1.
  docker run -d --init --name "$node" --hostname "$node" --network "$network" \
    --label "$cluster_label" "${run_flags[@]}" "${extra[@]}" \
    -e "DIND_STORAGE_DRIVER=${DIND_STORAGE_DRIVER:-}" \
    -v "$storage_host:$storage_node" \
    "$node_image" "${engine_args[@]}" >/dev/null ||
    die "docker run of node $node failed (if port $port is taken, set DSWARM_CLUSTER_PORT)"
done

for node in "${nodes[@]}"; do
  if ! retry 60 1 docker exec "$node" docker info; then
    docker logs --tail 15 "$node" >&2 || true
    die "dockerd in $node did not answer within 60 s (log above)"
  fi
done
driver=$(docker exec "${nodes[0]}" docker info -f '{{.Driver}}')
log "engines up in ${nodes[*]} (storage driver $driver)"
retry 30 1 docker -H "tcp://127.0.0.1:$port" version ||
  die "manager API on tcp://127.0.0.1:$port does not answer"

manager=${nodes[0]}
addr=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$manager")
docker exec "$manager" docker swarm init --advertise-addr "$addr" >/dev/null ||
  die "swarm init on $manager ($addr) failed"
token=$(docker exec "$manager" docker swarm join-token -q worker)
for node in "${nodes[@]:1}"; do
  docker exec "$node" docker swarm join --token "$token" "$addr:2377" >/dev/null ||
    die "swarm join of $node to $addr:2377 failed"
done

ready() {
  [ "$(docker exec "$manager" docker node ls -q --filter role=worker | wc -l)" -eq $((${#nodes[@]} - 1)) ] &&
    [ "$(docker exec "$manager" docker node ls --format '{{.Status}}' | grep -c '^Ready$')" -eq ${#nodes[@]} ]
}
if ! retry 60 1 ready; then
  docker exec "$manager" docker node ls >&2 || true
  die "not all ${#nodes[@]} nodes became Ready within 60 s"
fi
for i in "${!nodes[@]}"; do
  docker exec "$manager" docker node update --label-add "dswarm.weight=${weights[$i]}" "${nodes[$i]}" >/dev/null ||
    die "labelling ${nodes[$i]} dswarm.weight=${weights[$i]} failed"
done
log "swarm of ${#nodes[@]} nodes ready; loading $worker_image into every node"

wait "$save_pid" || die "docker save of $worker_image failed"
pids=()
for node in "${nodes[@]}"; do
  docker exec -i "$node" docker load -q <"$state_dir/worker.tar" >/dev/null &
  pids+=($!)
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || die "docker load of $worker_image into ${nodes[$i]} failed"
done
rm -f "$state_dir/worker.tar"

arm_node=
if [ "${DSWARM_ARM_NODE:-1}" != 0 ]; then
  arm_node=dswarm-arm1
  ARM_NODE=$arm_node ARM_MANAGER=$manager ARM_NETWORK=$network ARM_STORAGE_HOST=$storage_host \
    DSWARM_STORAGE=$storage_node DSWARM_IMAGE=$worker_image ARM_IMAGE=$worker_image-arm64 \
    "$here/arm-node.sh" up || die "the aarch64 node did not come up (DSWARM_ARM_NODE=0 goes without)"
  # Drained: jobs use the three x86 nodes until a test makes it active.
  docker exec "$manager" docker node update --availability drain "$arm_node" >/dev/null ||
    die "draining $arm_node failed"
fi

{
  echo "# Written by test/cluster/up.sh; source it: . .cluster/env"
  printf 'export DOCKER_HOST=%q\n' "tcp://127.0.0.1:$port"
  printf 'export DSWARM_STORAGE=%q\n' "$storage_node"
  printf 'export DSWARM_STORAGE_HOST=%q\n' "$storage_host"
  printf 'export DSWARM_IMAGE=%q\n' "$worker_image"
  printf 'export DSWARM_NODES=%q\n' "${nodes[*]}"
  printf 'export DSWARM_MANAGER=%q\n' "$manager"
  printf 'export DSWARM_MANAGER_ADDR=%q\n' "$addr"
  printf 'export DSWARM_ARM_NODE=%q\n' "$arm_node"
} >"$state_dir/env"

docker exec "$manager" docker node ls
log "up in $((SECONDS - start)) s; settings in $state_dir/env"

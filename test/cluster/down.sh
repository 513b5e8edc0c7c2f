#!/usr/bin/env bash
# Removes the test swarm: node containers (with their engines' data), the
# network and the .cluster folder with its shared storage. Images stay.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

docker info >/dev/null 2>&1 || die "no Docker daemon answers (is dockerd running?)"

mapfile -t ids < <(docker ps -aq --filter "label=$cluster_label")
if [ ${#ids[@]} -gt 0 ]; then
  log "removing ${#ids[@]} node container(s)"
  # A short stop lets each inner dockerd stop its own containers; -v drops the
  # anonymous volume that holds the node's images.
  docker stop -t 5 "${ids[@]}" >/dev/null 2>&1 || true
  # Removing a node deletes its copy of the worker image (several seconds
  # each); the CLI would remove them one after another.
  pids=()
  for id in "${ids[@]}"; do
    docker rm -fv "$id" >/dev/null &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || die "docker rm of node container ${ids[$i]} failed"
  done
fi

mapfile -t nets < <(docker network ls -q --filter "label=$cluster_label")
if [ ${#nets[@]} -gt 0 ]; then
  log "removing network $network"
  docker network rm "${nets[@]}" >/dev/null || die "docker network rm $network failed"
fi

if [ -d "$state_dir" ]; then
  log "removing $state_dir"
  # Tasks write into the storage as root; when this script is not root, a
  # container removes what the user cannot.
  if ! rm -rf "$state_dir" 2>/dev/null; then
    docker run --rm -v "$state_dir:/cluster" --entrypoint sh "$node_image" -c 'rm -rf /cluster/* /cluster/.[!.]*' ||
      die "could not remove $state_dir"
    rm -rf "$state_dir" || die "could not remove $state_dir"
  fi
fi
log "down"

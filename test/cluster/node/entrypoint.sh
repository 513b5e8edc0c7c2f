#!/bin/sh
# Starts dockerd as the node container's main process. Extra arguments go to
# dockerd (up.sh adds --host=tcp://0.0.0.0:2375 on the manager).
#
# DIND_STORAGE_DRIVER picks the storage driver; by default overlay2 where the
# kernel lets this container mount overlay, else vfs (slow: every container
# gets a full copy of its image).
set -eu

driver=${DIND_STORAGE_DRIVER:-}
if [ -z "$driver" ]; then
  probe=/var/lib/docker/.overlay-probe
  mkdir -p "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  if mount -t overlay overlay \
    -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    driver=overlay2
  else
    echo "dind: overlay mounts fail here; using the vfs storage driver" >&2
    driver=vfs
  fi
  rm -rf "$probe"
fi

# cgroup v1 with the machine's /sys/fs/cgroup mounted in: without a parent,
# the inner containers' cgroups would sit at the machine's root, outside this
# node's cgroup, so limits such as --cpus on the node would not reach them.
parent=
if [ -f /sys/fs/cgroup/cpu/tasks ]; then
  own=$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' /proc/self/cgroup)
  if [ -n "$own" ] && [ "$own" != / ] && [ -d "/sys/fs/cgroup/cpu$own" ]; then
    parent="--cgroup-parent=$own/dind"
  fi
fi
# The cpuset controller (up.sh's DSWARM_NODE_CPUSETS, docker run
# --cpuset-cpus): a new cgroup v1 cpuset starts with no CPUs and no memory
# nodes, and a child may only hold what its parent holds. The parent of the
# tasks is made here with this node's own set, so every task inherits it
# (and a task cannot ask for a CPU outside it).
if [ -n "$parent" ] && [ -f /sys/fs/cgroup/cpuset/tasks ]; then
  cs=$(awk -F: '$2 ~ /(^|,)cpuset(,|$)/ { print $3 }' /proc/self/cgroup)
  if [ -n "$cs" ] && [ "$cs" != / ] && [ -d "/sys/fs/cgroup/cpuset$cs" ]; then
    mkdir -p "/sys/fs/cgroup/cpuset$cs/dind"
    for f in cpuset.mems cpuset.cpus; do
      cat "/sys/fs/cgroup/cpuset$cs/$f" >"/sys/fs/cgroup/cpuset$cs/dind/$f"
    done
    echo "dind: tasks confined to CPUs $(cat "/sys/fs/cgroup/cpuset$cs/dind/cpuset.cpus")" >&2
  fi
fi

# Match the node network's MTU so inner bridges do not send oversized frames.
mtu=$(cat /sys/class/net/eth0/mtu 2>/dev/null || echo 1500)

# A node killed and started again (the node-loss test) keeps its /var/run:
# stale pid files of dockerd and its containerd may name processes of the
# new PID namespace, and dockerd then refuses to start.
rm -rf /var/run/docker.pid /var/run/docker
# shellcheck disable=SC2086 # $parent is empty or one word
exec dockerd \
  --host=unix:///var/run/docker.sock \
  --storage-driver="$driver" \
  --mtu="$mtu" \
  $parent \
  "$@"

#!/usr/bin/env bash
# Builds the local base image debian:bookworm-slim from Debian's archive with
# debootstrap, because no container registry is reachable to pull it from.
# Does nothing when the image exists already, unless FORCE=1.
#
#   images/base-image.sh            # build if missing
#   FORCE=1 images/base-image.sh    # rebuild
#
# Environment: BASE_IMAGE (debian:bookworm-slim), SUITE (bookworm),
# MIRROR (http://deb.debian.org/debian).
set -euo pipefail

BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
FORCE=${FORCE:-0}

die() { echo "base-image: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker is not installed"
docker info >/dev/null 2>&1 || die "no Docker daemon answers (is dockerd running?)"

if [ "$FORCE" != 1 ] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  echo "base-image: $BASE_IMAGE exists; nothing to do (FORCE=1 rebuilds)"
  exit 0
fi

command -v debootstrap >/dev/null 2>&1 ||
  die "debootstrap is not installed (apt-get install -y debootstrap)"
[ "$(id -u)" = 0 ] || die "debootstrap needs root"

root=$(mktemp -d "${TMPDIR:-/tmp}/dswarm-rootfs.XXXXXX")
# The rootfs holds device nodes and root-owned files; remove it on every exit.
trap 'rm -rf "$root"' EXIT

echo "base-image: debootstrap $SUITE from $MIRROR into $root"
log="$root.log"
if ! debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -f "$log"
  die "debootstrap $SUITE from $MIRROR failed (log above)"
fi
rm -f "$log"

# Slim it like the official image: no apt caches or package lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

echo "base-image: importing as $BASE_IMAGE"
tar -C "$root" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$BASE_IMAGE" >/dev/null ||
  die "docker import of $root as $BASE_IMAGE failed"

echo "base-image: built $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE") bytes)"

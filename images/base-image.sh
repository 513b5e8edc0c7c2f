#!/usr/bin/env bash
# Builds the local base image debian:bookworm-slim from Debian's archive with
# debootstrap, because no container registry is reachable to pull it from.
# Does nothing when the image exists already, unless FORCE=1.
#
#   images/base-image.sh            # build if missing
#   FORCE=1 images/base-image.sh    # rebuild
#   ARCH=arm64 images/base-image.sh # another architecture, as dswarm/base:bookworm-arm64
#
# Environment: ARCH (a Go architecture: amd64, arm64, arm; default this
# machine's), BASE_IMAGE (debian:bookworm-slim for this machine's
# architecture, dswarm/base:bookworm-ARCH for another), SUITE (bookworm),
# MIRROR (http://deb.debian.org/debian).
#
# Another architecture needs qemu-user-static with binfmt_misc (debootstrap's
# second stage runs the foreign binaries). Docker 20.10's `docker import
# --platform` ignores the platform and stamps this machine's, so a foreign
# root filesystem is packed by hand as a docker-archive (one layer, a config
# that says its architecture, manifest.json) and `docker load`ed.
set -euo pipefail

host_arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$host_arch" in x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; armhf | armv7l) host_arch=arm ;; esac
ARCH=${ARCH:-$host_arch}
case "$ARCH" in
  amd64) deb_arch=amd64 variant= ;;
  arm64) deb_arch=arm64 variant=v8 ;;
  arm) deb_arch=armhf variant=v7 ;;
  *) echo "base-image: unsupported ARCH $ARCH (want amd64, arm64 or arm)" >&2; exit 1 ;;
esac
if [ "$ARCH" = "$host_arch" ]; then
  BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
else
  BASE_IMAGE=${BASE_IMAGE:-dswarm/base:bookworm-$ARCH}
fi
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

case "$ARCH" in amd64) qemu=qemu-x86_64 ;; arm64) qemu=qemu-aarch64 ;; arm) qemu=qemu-arm ;; esac
if [ "$ARCH" != "$host_arch" ] && [ ! -e "/proc/sys/fs/binfmt_misc/$qemu" ]; then
  die "building for $ARCH on $host_arch needs $qemu registered in binfmt_misc (apt-get install -y qemu-user-static binfmt-support)"
fi

echo "base-image: debootstrap $SUITE ($deb_arch) from $MIRROR into $root"
log="$root.log"
if ! debootstrap --arch="$deb_arch" --variant=minbase "$SUITE" "$root" "$MIRROR" >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -f "$log"
  die "debootstrap $SUITE from $MIRROR failed (log above)"
fi
rm -f "$log"

# Slim it like the official image: no apt caches or package lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

if [ "$ARCH" != "$host_arch" ]; then
  echo "base-image: packing $root as a linux/$ARCH docker-archive for $BASE_IMAGE"
  pack=$(mktemp -d "${TMPDIR:-/tmp}/dswarm-archive.XXXXXX")
  trap 'rm -rf "$root" "$pack"' EXIT
  mkdir "$pack/layer"
  tar -C "$root" -cf "$pack/layer/layer.tar" .
  diff_id=$(sha256sum "$pack/layer/layer.tar" | cut -d' ' -f1)
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  printf '{"architecture":"%s",%s"os":"linux","created":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["bash"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"%s","created_by":"debootstrap --arch=%s --variant=minbase %s"}]}' \
    "$ARCH" "${variant:+\"variant\":\"$variant\",}" "$now" "$diff_id" "$now" "$deb_arch" "$SUITE" >"$pack/config.json"
  config_id=$(sha256sum "$pack/config.json" | cut -d' ' -f1)
  mv "$pack/config.json" "$pack/$config_id.json"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer/layer.tar"]}]' "$config_id" "$BASE_IMAGE" >"$pack/manifest.json"
  tar -C "$pack" -c . | docker load -q >/dev/null || die "docker load of the $ARCH archive as $BASE_IMAGE failed"
  echo "base-image: built $BASE_IMAGE ($(docker image inspect -f '{{.Os}}/{{.Architecture}}/{{.Variant}}' "$BASE_IMAGE"), $(docker image inspect -f '{{.Size}}' "$BASE_IMAGE") bytes)"
  exit 0
fi

echo "base-image: importing as $BASE_IMAGE"
tar -C "$root" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "$BASE_IMAGE" >/dev/null ||
  die "docker import of $root as $BASE_IMAGE failed"

echo "base-image: built $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE") bytes)"

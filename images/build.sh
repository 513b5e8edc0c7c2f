#!/usr/bin/env bash
# Builds the dswarm worker image for one architecture into the local engine.
#
#   images/build.sh ARCH IMAGE      e.g. images/build.sh amd64 dswarm/worker:latest
#
# ARCH is a Go architecture (amd64, arm64, arm); the static binary
# bin/dswarm-linux-ARCH must exist (make images builds it). The base image
# (debian:bookworm-slim for this machine's architecture, dswarm/base:bookworm-ARCH
# for another, whose RUN steps then run under qemu binfmt emulation) is made
# with images/base-image.sh when missing.
set -euo pipefail

die() { echo "build: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 ARCH IMAGE (e.g. amd64 dswarm/worker:latest)"
arch=$1
image=$2
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
bin="$repo/bin/dswarm-linux-$arch"
host_arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$host_arch" in x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; armhf | armv7l) host_arch=arm ;; esac
base=debian:bookworm-slim
[ "$arch" = "$host_arch" ] || base=dswarm/base:bookworm-$arch

case "$arch" in
  amd64 | arm64 | arm) ;;
  *) die "unsupported ARCH $arch (want amd64, arm64 or arm)" ;;
esac
[ -x "$bin" ] || die "missing $bin (run: make bin/dswarm-linux-$arch)"
docker info >/dev/null 2>&1 || die "no Docker daemon answers (is dockerd running?)"

if ! docker image inspect "$base" >/dev/null 2>&1; then
  echo "build: $base is missing; making it with base-image.sh"
  ARCH=$arch BASE_IMAGE=$base "$here/base-image.sh"
fi

# The engine sees only the Dockerfile and this one binary, not the repository.
ctx=$(mktemp -d "${TMPDIR:-/tmp}/dswarm-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$ctx/Dockerfile"
cp "$bin" "$ctx/dswarm-linux-$arch"

# Without the buildx plugin, a DOCKER_BUILDKIT=1 in the environment would make
# the build fail; the classic builder handles this Dockerfile.
if ! docker buildx version >/dev/null 2>&1; then
  export DOCKER_BUILDKIT=0
fi

echo "build: $image for linux/$arch"
docker build --build-arg "TARGETARCH=$arch" --build-arg "BASE=$base" -t "$image" "$ctx" ||
  die "docker build of $image for $arch failed"
# The classic builder keeps the unused per-architecture label stages as
# untagged images; drop those and worker images this build untagged. Images
# still used by a container stay.
docker image ls -q --filter dangling=true --filter label=dswarm.arch |
  xargs -r docker image rm >/dev/null 2>&1 || true

echo "build: built $image ($(docker image inspect -f '{{index .Config.Labels "dswarm.arch"}} {{.Os}}/{{.Architecture}}/{{.Variant}}' "$image"))"

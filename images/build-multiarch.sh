#!/usr/bin/env bash
# Builds the dswarm worker image for amd64, arm64 and arm/v7 with buildx and
# pushes the multi-platform manifest to a registry (a manifest list cannot be
# loaded into a local engine). For clusters that mix x86 and Raspberry Pi nodes.
#
#   images/build-multiarch.sh IMAGE     e.g. registry.lan:5000/dswarm/worker:1.0
#
# Needs bin/dswarm-linux-amd64, -arm64 and -arm (make images-multiarch builds
# them), the docker buildx plugin with a builder that can run foreign
# platforms (docker-container driver plus QEMU binfmt), and a registry login.
# PLATFORMS overrides the platform list.
set -euo pipefail

die() { echo "build-multiarch: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 IMAGE (a name in a registry you can push to)"
image=$1
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
platforms=${PLATFORMS:-linux/amd64,linux/arm64,linux/arm/v7}

docker buildx version >/dev/null 2>&1 ||
  die "docker buildx is not installed (install the buildx plugin: https://docs.docker.com/build/install-buildx/)"

ctx=$(mktemp -d "${TMPDIR:-/tmp}/dswarm-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$ctx/Dockerfile"
# buildx sets TARGETARCH per platform (amd64, arm64, arm); the Dockerfile
# copies dswarm-linux-$TARGETARCH, so every listed platform needs its binary.
IFS=, read -r -a list <<<"$platforms"
for p in "${list[@]}"; do
  a=$(cut -d/ -f2 <<<"$p")
  bin="$repo/bin/dswarm-linux-$a"
  [ -x "$bin" ] || die "missing $bin for platform $p (run: make bin/dswarm-linux-$a)"
  cp "$bin" "$ctx/dswarm-linux-$a"
done

echo "build-multiarch: $image for $platforms"
docker buildx build --platform "$platforms" --push -t "$image" "$ctx" ||
  die "docker buildx build of $image for $platforms failed (is a builder with QEMU set up? docker buildx create --use; is the registry reachable and are you logged in?)"
echo "build-multiarch: pushed $image"

#!/usr/bin/env bash
# Builds the worker image for several architectures without buildx or a
# registry, and saves each as an archive for `dswarm images distribute`.
#
#   images/build-archs.sh IMAGE ARCH...     e.g. images/build-archs.sh dswarm/worker:latest amd64 arm64
#
# This machine's architecture is tagged IMAGE, every other IMAGE-ARCH
# (dswarm/worker:latest-arm64): one engine holds one image per name. With
# IMAGES_DIR set (the shared storage's images/ folder), each is saved there
# as worker-ARCH.tar; distribute loads the right one on each node and tags
# it IMAGE. A foreign architecture needs qemu-user-static (binfmt_misc): its
# base is debootstrapped for it and its RUN steps are emulated (arm64:
# about 2 min for the base, 3 min for ffmpeg, on 2 cores).
set -euo pipefail

die() { echo "build-archs: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: $0 IMAGE ARCH..."
image=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
host_arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$host_arch" in x86_64) host_arch=amd64 ;; aarch64) host_arch=arm64 ;; armhf | armv7l) host_arch=arm ;; esac

for arch in "$@"; do
  tag=$image
  [ "$arch" = "$host_arch" ] || tag=$image-$arch
  start=$SECONDS
  "$here/build.sh" "$arch" "$tag"
  echo "build-archs: $tag in $((SECONDS - start)) s"
  if [ -n "${IMAGES_DIR:-}" ]; then
    mkdir -p "$IMAGES_DIR"
    # Written beside and renamed: a node loading the old archive never
    # reads a half-written one.
    docker save -o "$IMAGES_DIR/.worker-$arch.tar.tmp" "$tag"
    mv "$IMAGES_DIR/.worker-$arch.tar.tmp" "$IMAGES_DIR/worker-$arch.tar"
    echo "build-archs: saved $IMAGES_DIR/worker-$arch.tar"
  fi
done

#!/usr/bin/env bash
# Installs what `make demo` and `make test` need and is missing, and starts a
# Docker daemon when none answers. The one place that does this: `make deps`,
# `make demo`, `make test` and .ci/run all come through here.
#
#   test/deps.sh         # what `make test` needs: ffmpeg, debootstrap, Docker, chromium,
#                        # and qemu-user-static for the test swarm's aarch64 node
#                        # (not with DSWARM_ARM_NODE=0)
#   test/deps.sh demo    # what `make demo` needs: the same without chromium
#
# As root it installs with apt-get (Debian, Ubuntu); otherwise it prints the
# one command to run and fails. Go 1.26 and make are assumed (Debian's Go is
# too old; see https://go.dev/dl/).
set -euo pipefail

die() { echo "deps: $*" >&2; exit 1; }

case "${1:-test}" in
  demo) want_browser=0 want_qemu=0 ;;
  test) want_browser=1 want_qemu=1 ;;
  *) die "usage: $0 [demo|test]" ;;
esac

command -v go >/dev/null 2>&1 || die "go is not on PATH (Go 1.26 from https://go.dev/dl/)"

# has finds a program on PATH or in the sbin folders a user's PATH may lack.
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

# Go stamps the version from git (go build -buildvcs) in a git checkout.
need=()
has git || need+=(git)
{ has ffmpeg && has ffprobe; } || need+=(ffmpeg)
has debootstrap || need+=(debootstrap) # images/base-image.sh, no registry to pull from
# Go's module downloads check the proxy's certificate.
[ -n "${SSL_CERT_FILE:-}" ] || [ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
# The web page test (server/web_test.go) drives a headless Chromium.
[ "$want_browser" = 0 ] || has chromium || need+=(chromium)
# The test swarm's aarch64 node runs arm64 binaries through qemu and
# binfmt_misc (test/cluster/arm-node.sh, ENVIRONMENT: foreign architectures).
[ "${DSWARM_ARM_NODE:-1}" != 0 ] || want_qemu=0
[ "$want_qemu" = 0 ] || { has qemu-aarch64-static && has update-binfmts; } || need+=(qemu-user-static binfmt-support)
# Only a client is needed where a daemon already answers (a mounted socket);
# Debian ships the client only together with the engine.
has docker || need+=(docker.io iptables)
{ docker info >/dev/null 2>&1 || has dockerd; } || need+=(docker.io iptables)

if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  cmd="apt-get update && apt-get install -y ${need[*]}"
  [ "$(id -u)" = 0 ] || die "missing ${need[*]}; as root run: $cmd"
  command -v apt-get >/dev/null 2>&1 || die "missing ${need[*]}, and no apt-get here to install them"
  echo "deps: installing ${need[*]}"
  t0=$(date +%s)
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
    die "apt-get install ${need[*]} failed"
  echo "deps: installed ${need[*]} in $(($(date +%s) - t0)) s"
fi

if ! docker info >/dev/null 2>&1; then
  [ -z "${DOCKER_HOST:-}" ] || die "no Docker daemon answers at DOCKER_HOST=$DOCKER_HOST"
  if [ "$(id -u)" != 0 ]; then
    [ -S /var/run/docker.sock ] &&
      die "$(id -un) may not use the Docker daemon at /var/run/docker.sock; as root run: usermod -aG docker $(id -un) (then log in again)"
    die "no Docker daemon answers; as root run: (dockerd >/var/log/dockerd.log 2>&1 &)"
  fi
  echo "deps: no Docker daemon answers; starting dockerd (log: /var/log/dockerd.log)"
  (dockerd >/var/log/dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -n 20 /var/log/dockerd.log >&2; die "dockerd did not answer within 60 s (log above)"; }
fi

# qemu-aarch64 registered in binfmt_misc, with the F flag (the interpreter is
# opened here, so it works inside containers too). The package registers it
# where binfmt_misc is mounted; a reboot or a container start may leave it
# unmounted or disabled.
if [ "$want_qemu" = 1 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  [ "$(id -u)" = 0 ] || die "qemu-aarch64 is not registered in binfmt_misc; as root run: update-binfmts --enable qemu-aarch64"
  [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    die "mounting binfmt_misc failed (the test swarm's aarch64 node needs it; DSWARM_ARM_NODE=0 goes without)"
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
  [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] ||
    die "qemu-aarch64 could not be registered in binfmt_misc (update-binfmts --enable qemu-aarch64)"
  echo "deps: qemu-aarch64 registered in binfmt_misc"
fi

echo "deps: ok (go, git, ffmpeg, debootstrap, docker$([ "$want_browser" = 0 ] || echo ", chromium")$([ "$want_qemu" = 0 ] || echo ", qemu-aarch64"))"

#!/usr/bin/env bash
# The README's first command, run as a newcomer runs it: a fresh clone of
# HEAD, in a clean debian:bookworm-slim container with nothing installed but
# make (the README assumes it); Go is the host's, mounted read-only, and
# Docker is the host's engine through its socket. Everything else (git,
# ffmpeg, debootstrap, the Docker client, Go modules, the worker image) must
# come from `make demo` itself. Passes when the sample transcode verified and
# its output holds every source frame; prints how long the fresh path took.
#
# The demo makes the host engine a one-node swarm and bind-mounts its storage
# folder into services, so the clone sits at the same absolute path inside
# the container as on the host. The swarm is left again if it was not there
# before, and the clone and the demo's image are removed.
#
# Environment: NEWCOMER_IMAGE (debian:bookworm-slim), GOROOT_HOST (go env GOROOT).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

die() { echo "newcomer: $*" >&2; exit 1; }

base=${NEWCOMER_IMAGE:-debian:bookworm-slim}
goroot=${GOROOT_HOST:-$(go env GOROOT)}
worker=dswarm/worker:newcomer # not the :latest other runs use
ca=/etc/ssl/certs/ca-certificates.crt

docker info >/dev/null 2>&1 || die "no Docker daemon answers (run make deps)"
[ -x "$goroot/bin/go" ] || die "no Go at $goroot (set GOROOT_HOST)"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  echo "newcomer: $base is missing; making it with images/base-image.sh"
  BASE_IMAGE=$base ./images/base-image.sh
fi
docker image inspect "$worker" >/dev/null 2>&1 && die "image $worker exists already: another newcomer run? (docker image rm $worker)"

swarm_before=$(docker info -f '{{.Swarm.LocalNodeState}}')
dir=$(mktemp -d "${TMPDIR:-/tmp}/dswarm-newcomer.XXXXXX")
clone=$dir/dswarm
cleanup() {
  rc=$?
  docker rm -f "dswarm-newcomer-$$" >/dev/null 2>&1 || true
  if [ "$swarm_before" != active ] && [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" = active ]; then
    docker swarm leave --force >/dev/null
  fi
  # -f: the job's finished task containers may still hold the image.
  docker image rm -f "$worker" >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

git clone -q "$repo" "$clone" || die "git clone $repo into $clone failed"
echo "newcomer: fresh clone of $(git -C "$clone" rev-parse --short HEAD) in $clone; make demo in a clean $base container"

# Module downloads reach the Go proxy through this machine's proxy, whose CA
# a new container does not trust; a user's own machine needs neither mount.
ca_args=()
if [ -s "$ca" ]; then
  ca_args=(-v "$ca:/host-ca.crt:ro" -e SSL_CERT_FILE=/host-ca.crt)
fi

start=$(date +%s)
docker run --rm --name "dswarm-newcomer-$$" \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v "$goroot:/usr/local/go:ro" \
  "${ca_args[@]}" \
  -v "$clone:$clone" -w "$clone" \
  -e PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  -e DEBIAN_FRONTEND=noninteractive \
  "$base" bash -euo pipefail -c '
    t0=$(date +%s)
    apt-get update -qq && apt-get install -y -qq make >/dev/null
    t1=$(date +%s)
    echo "newcomer: make installed in $((t1 - t0)) s; now: make demo"
    make demo IMAGE='"$worker"'
    echo "newcomer: make demo took $(($(date +%s) - t1)) s"
  ' || die "make demo failed in a clean container (output above)"
took=$(($(date +%s) - start))

# The demo verified the output itself; check its claim from outside.
src=$clone/.demo/sample.mp4
out=$clone/.demo/sample.x264.mp4
[ -s "$out" ] || die "make demo passed but left no output $out"
frames() { ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets -of csv=p=0 "$1"; }
want=$(frames "$src") got=$(frames "$out")
[ "$want" = "$got" ] || die "output $out has $got frames, the sample $want"
grep -q '"output_frames": *'"$want" "$clone/.demo/summary.json" || die "summary.json does not report $want output frames"

echo "newcomer: PASS: from nothing to a verified sample transcode ($got of $want frames) in $took s"

#!/usr/bin/env bash
# A sample transcode on a local one-node swarm: this machine's engine becomes
# a swarm manager if it is not one (undo with: docker swarm leave --force),
# a generated 20 s 720p clip goes through dswarm transcode --swarm, and the
# summary is printed. Shared storage is a folder here (.demo/storage), which
# on a one-node swarm every "node" sees at the same path.
set -euo pipefail
cd "$(dirname "$0")/.."
image=${DSWARM_IMAGE:-dswarm/worker:latest}
unset DOCKER_HOST # this machine's engine, not a test cluster's

docker info >/dev/null 2>&1 || { echo "demo: no Docker daemon answers (start dockerd)" >&2; exit 1; }
state=$(docker info -f '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  echo "demo: making this engine a one-node swarm (docker swarm leave --force undoes it)"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
fi

storage=$(pwd)/.demo/storage
mkdir -p "$storage"/{upload,tmp,download}
echo "dswarm shared storage (demo)" >"$storage/.dswarm-storage"
src=.demo/sample.mp4
if [ ! -f "$src" ]; then
  ffmpeg -nostdin -v error -f lavfi -i testsrc2=s=1280x720:r=30:d=20 -f lavfi -i sine=f=440:d=20 \
    -c:v libx264 -preset ultrafast -g 60 -c:a aac "$src"
fi
export DSWARM_IMAGE=$image DSWARM_STORAGE=$storage DSWARM_STORAGE_HOST=$storage
bin/dswarm nodes
bin/dswarm transcode --swarm --overwrite --json --segment-duration 4s "$src" -o .demo/sample.x264.mp4 \
  -c:v libx264 -crf 23 -preset veryfast >.demo/summary.json
echo "demo: summary in .demo/summary.json; output .demo/sample.x264.mp4"
grep -E '"(segments|source_frames|output_frames|wall_seconds)"' .demo/summary.json

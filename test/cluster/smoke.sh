#!/usr/bin/env bash
# Checks a running test cluster end to end: all nodes Ready and labelled, and
# a replicated-job service pinned to the last node, started through the
# manager's published API, writes a file that the host sees in the shared
# storage folder.
#
#   ./test/cluster/up.sh && ./test/cluster/smoke.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

[ -f "$state_dir/env" ] || die "no $state_dir/env: is the cluster up? (make cluster-up)"
# shellcheck disable=SC1091
source "$state_dir/env"

ready=$(docker node ls --format '{{.Hostname}} {{.Status}}' | grep -c ' Ready$' || true)
[ "$ready" -eq ${#nodes[@]} ] || die "want ${#nodes[@]} Ready nodes via $DOCKER_HOST, got $ready"
for i in "${!nodes[@]}"; do
  got=$(docker node inspect -f '{{index .Spec.Labels "dswarm.weight"}}' "${nodes[$i]}")
  [ "$got" = "${weights[$i]}" ] || die "${nodes[$i]} has dswarm.weight '$got', want ${weights[$i]}"
done

target=${nodes[-1]}
name=dswarm-smoke-$$
file=tmp/$name.mkv
rm -f "$DSWARM_STORAGE_HOST/$file"
trap 'docker service rm "$name" >/dev/null 2>&1 || true; rm -f "$DSWARM_STORAGE_HOST/$file"' EXIT
# No registry holds the image: skip digest resolution, use what nodes loaded.
docker service create -d --name "$name" --mode replicated-job --restart-condition none \
  --no-resolve-image --constraint "node.hostname==$target" \
  --mount "type=bind,src=$DSWARM_STORAGE,dst=$DSWARM_STORAGE" \
  "$DSWARM_IMAGE" ffmpeg -v error -f lavfi -i testsrc2=d=1 "$DSWARM_STORAGE/$file" >/dev/null ||
  die "docker service create $name failed"

state=
for _ in $(seq 1 60); do
  state=$(docker service ps "$name" --format '{{.Node}} {{.CurrentState}} {{.Error}}' | head -n 1)
  case "$state" in
    *Complete*) break ;;
    *Failed* | *Rejected*) die "service $name: $state" ;;
  esac
  sleep 1
done
case "$state" in *Complete*) ;; *) die "service $name did not complete within 60 s: $state" ;; esac
case "$state" in "$target "*) ;; *) die "service $name ran on the wrong node: $state" ;; esac
[ -s "$DSWARM_STORAGE_HOST/$file" ] || die "service $name completed but $DSWARM_STORAGE_HOST/$file is missing"
log "ok: ${#nodes[@]} nodes Ready; job on $target wrote $DSWARM_STORAGE_HOST/$file ($(stat -c %s "$DSWARM_STORAGE_HOST/$file") bytes)"

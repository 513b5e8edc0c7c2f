# dswarm: distributed FFmpeg transcoding on Docker Swarm.
GO      ?= go
BIN     := bin/dswarm
ARCH    ?= $(shell go env GOARCH)
IMAGE   ?= dswarm/worker:latest

.PHONY: all build deps deps-demo newcomer test unit vet fmt bench bench-swarm demo deploy images images-multiarch base-image cluster-up cluster-down e2e clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dswarm

# What demo and test need (ffmpeg, debootstrap, Docker, chromium for the web
# page test), installed with apt-get as root when missing; dockerd started when
# no daemon answers. Not root: it prints the command to run.
deps:
	./test/deps.sh

deps-demo:
	./test/deps.sh demo

# The test command of the README and of .ci/run.
test: deps
	$(MAKE) vet unit e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 20m ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Speed figures: dswarm --local against plain ffmpeg on a 2-minute 720p clip,
# and rate control against ffmpeg's one-pass and two-pass
# (DSWARM_BENCH_CODECS=all adds libx265, libvpx-vp9 and libsvtav1; a list such
# as libx265,libvpx-vp9 runs only those).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/...

# The swarm executor against plain ffmpeg, side by side, on the test swarm
# with node1 on CPU 0, node2 on CPU 1 and node3 on both (bench/swarm_test.go);
# wrap it in flock /tmp/dswarm-cluster.lock where others share the cluster.
bench-swarm: build
	DSWARM_NODE_CPUSETS="0 1 0-1" $(MAKE) cluster-up
	@set -a; . ./.cluster/env; set +a; \
	  $(GO) test -tags swarmbench -run '^$$' -bench '^BenchmarkSwarm$$' -benchtime 1x -timeout 90m ./bench/; rc=$$?; \
	  $(MAKE) cluster-down; exit $$rc

# A sample transcode, end to end, on a one-node swarm of this machine's
# Docker engine (swarm init if it is not in a swarm yet).
# The stack (scheduler + visualizer) on the swarm this docker talks to. The
# API token is made once, kept in .dswarm-token (mode 600) and in the
# dswarm_token secret: export DSWARM_TOKEN=$$(cat .dswarm-token).
deploy: images
	@docker secret inspect dswarm_token >/dev/null 2>&1 || { \
	  umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >.dswarm-token; \
	  docker secret create dswarm_token .dswarm-token >/dev/null && echo "deploy: API token in .dswarm-token"; }
	DSWARM_IMAGE=$(IMAGE) docker stack deploy --resolve-image never -c docker-compose.swarm.yml dswarm

demo: deps-demo
	$(MAKE) build images
	DSWARM_IMAGE=$(IMAGE) ./test/demo.sh

# make demo as a newcomer runs it: in a clean debian:bookworm-slim container
# with only Go, make, the host's Docker socket and a fresh clone of HEAD.
newcomer:
	./test/newcomer.sh

# Static binary for the worker image (no Go image needed in Docker).
bin/dswarm-linux-%:
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build -trimpath -ldflags '-s -w' -o $@ ./cmd/dswarm

# The local base image, made with debootstrap (no registry to pull it from).
base-image:
	./images/base-image.sh

# The binaries are rebuilt on every call (-B; go build is incremental): their
# pattern rule has no prerequisites, so an old binary would otherwise be packed.
# ARCHS="amd64 arm64" builds one image per architecture (images/build-archs.sh:
# IMAGE for this machine's, IMAGE-ARCH for others; qemu binfmt for foreign
# ones), and with IMAGES_DIR=/srv/dswarm/images saves each as
# worker-ARCH.tar there for `dswarm images distribute`.
ARCHS ?=
IMAGES_DIR ?=
images:
ifneq ($(strip $(ARCHS)),)
	$(MAKE) -B $(foreach a,$(ARCHS),bin/dswarm-linux-$(a))
	IMAGES_DIR="$(IMAGES_DIR)" ./images/build-archs.sh $(IMAGE) $(ARCHS)
else
	$(MAKE) -B bin/dswarm-linux-$(ARCH)
	./images/build.sh $(ARCH) $(IMAGE)
endif

# amd64, arm64 and arm/v7 (GOARM=7) in one manifest, pushed to IMAGE's registry.
images-multiarch:
	$(MAKE) -B bin/dswarm-linux-amd64 bin/dswarm-linux-arm64 bin/dswarm-linux-arm
	./images/build-multiarch.sh $(IMAGE)

# A three-node swarm in containers, and a fourth, aarch64 node (its engine
# says aarch64; its arm64 worker image runs under qemu), drained until a test
# wants it; DSWARM_ARM_NODE=0 leaves it out. Settings for clients land in
# .cluster/env.
DSWARM_ARM_NODE ?= 1
cluster-up: images
ifneq ($(DSWARM_ARM_NODE),0)
	$(MAKE) -B bin/dswarm-linux-arm64
	./images/build.sh arm64 $(IMAGE)-arm64
endif
	DSWARM_IMAGE=$(IMAGE) DSWARM_ARM_NODE=$(DSWARM_ARM_NODE) ./test/cluster/up.sh

cluster-down:
	./test/cluster/down.sh

# The swarm tests: a three-node docker-in-docker swarm is brought up, the
# real dswarm binary runs jobs on it, and the swarm is taken down again
# whatever the outcome. Without a Docker daemon this fails; it never skips.
# Node3 is pinned to CPU 1 (node1 and node2 may use both), so that
# TestTasksStayOnTheirCPUs has a confined node to check; pinning the fast
# nodes would leave TestPlacementFollowsSpeed at the mercy of whatever else
# runs on their CPU.
DSWARM_NODE_CPUSETS ?= $(shell [ "$$(nproc)" -ge 2 ] && echo "0-1 0-1 1")
e2e: build
	DSWARM_NODE_CPUSETS="$(DSWARM_NODE_CPUSETS)" $(MAKE) cluster-up
	@set -a; . ./.cluster/env; set +a; \
	  $(GO) test -tags e2e -count=1 -v -timeout 30m ./test/e2e/; rc=$$?; \
	  $(MAKE) cluster-down; exit $$rc

clean:
	rm -rf bin .cluster .demo dswarm cmd/dswarm/dswarm
	find . \( -name .git -o -name .cache \) -prune -o -name '*.test' -type f -exec rm -f {} +

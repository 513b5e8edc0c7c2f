# dswarm: distributed FFmpeg transcoding on Docker Swarm.
GO      ?= go
BIN     := bin/dswarm
ARCH    ?= $(shell go env GOARCH)
IMAGE   ?= dswarm/worker:latest

.PHONY: all build test unit vet fmt bench demo images images-multiarch base-image cluster-up cluster-down e2e clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dswarm

# The test command of the README and of .ci/run.
test: vet unit e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 20m ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Speed figures: dswarm --local against plain ffmpeg on a 2-minute 720p clip.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./bench/...

# A sample transcode, end to end.
demo: build
	./scripts/demo.sh

# Static binary for the worker image (no Go image needed in Docker).
bin/dswarm-linux-%:
	CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build -trimpath -ldflags '-s -w' -o $@ ./cmd/dswarm

base-image:
	./images/base-image.sh

images: bin/dswarm-linux-$(ARCH)
	./images/build.sh $(ARCH) $(IMAGE)

images-multiarch: bin/dswarm-linux-amd64 bin/dswarm-linux-arm64 bin/dswarm-linux-arm
	./images/build-multiarch.sh $(IMAGE)

cluster-up: images
	./test/cluster/up.sh

cluster-down:
	./test/cluster/down.sh

e2e:
	@echo "e2e: the swarm tests arrive with the swarm executor"

clean:
	rm -rf bin .cluster

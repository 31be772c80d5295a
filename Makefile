# Everyday commands. `make test` is what CI runs (see .ci/run).
.PHONY: test test-short lint bench demo build

build:
	go build -o bin/concord ./cmd/concord

test:
	go test -race ./...

test-short:
	go test -short ./...

lint:
	go vet ./...
	gofmt -l $$(git ls-files '*.go')

bench:
	go test -run xxx -bench . -benchtime 1x ./internal/benchmark
	go run ./bench

demo:
	go run ./cmd/concord demo

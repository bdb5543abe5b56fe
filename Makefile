.PHONY: run test build bench vet

run:
	go run ./cmd/civicflow serve --demo

build:
	go build -o civicflow ./cmd/civicflow

test:
	bash scripts/test.sh

vet:
	go vet ./...

bench:
	go test -run '^$$' -bench . -benchtime 3x ./...

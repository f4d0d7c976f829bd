#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it: formatting, vet, every
# package's tests (unit, in-process, and e2e against the built binary) under
# the race detector, and the vendored gnet patch's own tests.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(find . -name '*.go' -not -path './third_party/*' -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
echo "== go vet"
go vet ./...
(cd third_party/gnet && go vet .)
echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
echo "== third_party/gnet patch tests"
(cd third_party/gnet && go test -race -count=1 -run 'Pause|StopAccepting|DialTCP' .)
echo "all tests passed"

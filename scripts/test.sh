#!/usr/bin/env bash
# test.sh — the whole test suite, as CI runs it: formatting, vet, every
# package's tests (unit, in-process, and e2e against the built binary) under
# the race detector, the zero-allocation tests and a smoke run of every
# benchmark without it, and the vendored gnet patch's own tests.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== test dependencies"
# The Redis policies of the limit plugins are tested against a real
# redis-server (e2e/redis_test.go starts one per test on a free port).
if ! command -v redis-server >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		(apt-get install -y redis-server >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y redis-server >/dev/null; }) ||
			{ echo "installing redis-server failed"; exit 1; }
	else
		echo "redis-server is missing: install it (apt-get install -y redis-server)"; exit 1
	fi
fi
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
echo "== allocation tests (built without -race, which allocates)"
# The zero-allocation tests are //go:build !race; run them on their own so a
# regression to "0 allocs per request" fails CI.
go test -count=1 -run 'AllocatesNothing' ./...
echo "== benchmark smoke (every benchmark runs a few iterations: it must still work)"
go test -count=1 -run '^$' -bench . -benchtime 3x ./... > /tmp/sluice-bench-smoke.log 2>&1 || {
	cat /tmp/sluice-bench-smoke.log; exit 1
}
echo "== third_party/gnet patch tests"
(cd third_party/gnet && go test -race -count=1 -run 'Pause|StopAccepting|DialTCP|Accept' .)
echo "all tests passed"

#!/usr/bin/env bash
# compare.sh — kept for old command lines; bench/suite does the work now:
#
#   ROUNDS=5 DURATION=10 WARMUP=2 [SCALE_ROUTES=100000] bench/compare.sh [suite run flags]
#
# is go run ./bench/suite run -s no-plugin[,routes-100k] -reps 5 -duration 10s
# -warmup 2s: sluice vs direct and nginx on the same pinned CPU, appended to
# bench/results/history.jsonl, BENCHMARKS.md and the history plot refreshed.
# The suite's routes-100k scenario always has 100,000 routes; connection
# counts live in the scenarios (bench/scenarios/*.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

sel=no-plugin
if [ "${SCALE_ROUTES:-0}" -gt 0 ]; then
	[ "$SCALE_ROUTES" = 100000 ] || echo "compare.sh: routes-100k has 100000 routes; SCALE_ROUTES=$SCALE_ROUTES ignored" >&2
	sel=$sel,routes-100k
fi
if [ -n "${CONNS:-}" ] && [ "$CONNS" != 64 ]; then
	echo "compare.sh: CONNS is set in the scenario files now (see bench/scenarios/conn-sweep.yaml); ignored" >&2
fi
exec go run ./bench/suite run -s "$sel" -reps "${ROUNDS:-3}" -duration "${DURATION:-10}s" -warmup "${WARMUP:-2}s" \
	-proxy-cpu "${PROXY_CPU:-0}" -load-cpu "${LOAD_CPU:-1}" "$@"

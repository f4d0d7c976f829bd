#!/usr/bin/env bash
# killnode.sh — a node killed under wrk load (issue 10): three nginx origins
# (one process each), sluice with passive and active checks in front, wrk
# for $DURATION s; the second origin is killed (SIGKILL: its connections
# reset) at a third of the run and started again at two thirds. wrk's
# "Non-2xx" and "Socket errors" lines are the failed requests: there should
# be none (retries hide the dead node, passive checks eject it, the active
# check re-admits it).
#
# Usage: bench/killnode.sh   (env: DURATION=9 CONNS=64)
set -euo pipefail

DURATION=${DURATION:-9}
CONNS=${CONNS:-64}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BASE_PORT=${BASE_PORT:-18280}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sluice-kill.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx || ! need taskset; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq wrk nginx-light util-linux >/dev/null
fi
(cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
mkdir -p "$work/logs" "$work/conf"

origin() { # origin N: config and start origin N on BASE_PORT+N
	cat >"$work/origin$1.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $work/origin$1.pid;
error_log $work/logs/origin$1.err warn;
events { worker_connections 10240; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$((BASE_PORT + $1)) reuseport backlog=4096;
    keepalive_requests 1000000;
    location / { return 200 "hello world\n"; }
  }
}
EOF
	taskset -c "$LOAD_CPU" nginx -c "$work/origin$1.conf" &
	pids+=($!)
	eval "origin_pid$1=$!"
}
origin 1
origin 2
origin 3
sport=$((BASE_PORT + 10)) cport=$((BASE_PORT + 11))
cat >"$work/conf/config.yaml" <<EOF
apisix:
  node_listen:
    - ip: 127.0.0.1
      port: $sport
  control:
    ip: 127.0.0.1
    port: $cport
deployment:
  role: data_plane
  role_data_plane:
    config_provider: yaml
EOF
cat >"$work/conf/apisix.yaml" <<EOF
routes:
  - uri: /*
    upstream:
      checks:
        active:
          http_path: /
          healthy: {interval: 1, successes: 1}
          unhealthy: {interval: 1, tcp_failures: 1}
      nodes:
        "127.0.0.1:$((BASE_PORT + 1))": 1
        "127.0.0.1:$((BASE_PORT + 2))": 1
        "127.0.0.1:$((BASE_PORT + 3))": 1
#END
EOF
taskset -c "$PROXY_CPU" "$work/sluice" run -c "$work/conf/config.yaml" -log-level info 2>"$work/logs/sluice.log" &
pids+=($!)
for p in $((BASE_PORT + 1)) $((BASE_PORT + 2)) $((BASE_PORT + 3)) $sport; do
	for _ in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.05; done
done

taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$sport/" >"$work/wrk.out" &
wrk_pid=$!
sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 3 }')"
kill -KILL "$origin_pid2"
echo "killed origin 2" >&2
sleep 1
if (exec 3<>"/dev/tcp/127.0.0.1/$((BASE_PORT + 2))") 2>/dev/null; then echo "origin 2 still accepts!" >&2; fi
curl -s "http://127.0.0.1:$cport/v1/healthcheck" >&2 || true; echo >&2
sleep "$(awk -v d="$DURATION" 'BEGIN { print d / 3 }')"
origin 2
echo "origin 2 back" >&2
wait "$wrk_pid"
cat "$work/wrk.out"
grep -iE "unhealthy|healthy again" "$work/logs/sluice.log" >&2 || echo "(no health transitions logged)" >&2
if grep -qE "Non-2xx|Socket errors" "$work/wrk.out"; then
	echo "FAILED REQUESTS" >&2
	exit 1
fi
echo "no failed requests" >&2

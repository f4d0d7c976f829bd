#!/usr/bin/env bash
# upstreams.sh — what upstream features cost on the data path (issue 10).
#
# One nginx origin (return 200 "hello world\n", 1 worker) listening on three
# plain ports and one TLS port (a throwaway self-signed certificate), and one
# sluice with a route per target:
#   single    one node (the baseline)
#   weighted  three nodes, roundrobin weights 3:2:1 (issue target: within 3%
#             of single's req/s)
#   chash     three nodes, chash on a header (wrk sends none: remote_addr)
#   https     one https node (tls.verify false), pooled TLS connections
# Targets alternate within each round so drift hits all alike; the table
# reports medians. sluice runs on CPU $PROXY_CPU, wrk and the origin on CPU
# $LOAD_CPU. CPU per request is sluice's utime+stime (/proc/PID/stat) over
# the timed run divided by the requests served.
#
# Usage: bench/upstreams.sh   (env: DURATION=5 WARMUP=1 CONNS=64 ROUNDS=3)
set -euo pipefail

DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-3}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BASE_PORT=${BASE_PORT:-18180}
TARGETS=${TARGETS:-"single weighted chash https"}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sluice-upbench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx || ! need taskset || ! need openssl; then
	echo "installing wrk, nginx and openssl (apt-get)..." >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq wrk nginx-light util-linux openssl >/dev/null
fi

echo "building sluice..." >&2
(cd "$root" && go build -o "$work/sluice" ./cmd/sluice)

p1=$BASE_PORT p2=$((BASE_PORT + 1)) p3=$((BASE_PORT + 2)) ptls=$((BASE_PORT + 3)) sport=$((BASE_PORT + 10))
mkdir -p "$work/logs" "$work/sluice-conf"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=origin.test \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
cat >"$work/origin.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/origin.pid;
error_log $work/logs/origin.err warn;
events { worker_connections 10240; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$p1 reuseport backlog=4096;
    listen 127.0.0.1:$p2 reuseport backlog=4096;
    listen 127.0.0.1:$p3 reuseport backlog=4096;
    listen 127.0.0.1:$ptls ssl reuseport backlog=4096;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    keepalive_requests 1000000;
    location / { return 200 "hello world\n"; }
  }
}
EOF
cat >"$work/sluice-conf/config.yaml" <<EOF
apisix:
  node_listen:
    - ip: 127.0.0.1
      port: $sport
deployment:
  role: data_plane
  role_data_plane:
    config_provider: yaml
EOF
cat >"$work/sluice-conf/apisix.yaml" <<EOF
routes:
  - uri: /single
    upstream:
      nodes:
        "127.0.0.1:$p1": 1
  - uri: /weighted
    upstream:
      nodes:
        "127.0.0.1:$p1": 3
        "127.0.0.1:$p2": 2
        "127.0.0.1:$p3": 1
  - uri: /chash
    upstream:
      type: chash
      hash_on: header
      key: X-User
      nodes:
        "127.0.0.1:$p1": 1
        "127.0.0.1:$p2": 1
        "127.0.0.1:$p3": 1
  - uri: /https
    upstream:
      scheme: https
      nodes:
        "127.0.0.1:$ptls": 1
#END
EOF

taskset -c "$LOAD_CPU" nginx -c "$work/origin.conf" &
pids+=($!)
taskset -c "$PROXY_CPU" "$work/sluice" run -c "$work/sluice-conf/config.yaml" -log-level warn 2>"$work/logs/sluice.log" &
sluice_pid=$!
pids+=($sluice_pid)

wait_port() {
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "port $1 never opened" >&2
	exit 1
}
for p in $p1 $p2 $p3 $ptls $sport; do wait_port "$p"; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
results="$work/results.tsv"
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
	for target in $TARGETS; do
		url="http://127.0.0.1:$sport/$target"
		taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null
		before=$(cpu_ticks "$sluice_pid")
		out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$url")
		after=$(cpu_ticks "$sluice_pid")
		rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
		reqs=$(awk '/requests in/ {print $1}' <<<"$out")
		errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
		cpu_us=$(awk -v a="$after" -v b="$before" -v n="$reqs" -v hz="$hz" 'BEGIN { printf "%.2f", (a - b) / hz * 1e6 / n }')
		printf '%s\t%s\t%s\t%s\n' "$target" "$round" "$rps" "$cpu_us" >>"$results"
		printf 'round %d %-9s %10s req/s  cpu %6s us/req %s\n' "$round" "$target" "$rps" "$cpu_us" "$errors" >&2
	done
done

median() { sort -g | awk '{a[NR] = $1} END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t {print $c}' "$results" | median; }
echo
printf '%-9s %12s %12s %14s\n' target "req/s" "vs single" "cpu us/req"
base=$(col single 3)
for target in $TARGETS; do
	rps=$(col "$target" 3)
	printf '%-9s %12s %12s %14s\n' "$target" "$rps" "$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "x%.3f", a / b }')" "$(col "$target" 4)"
done

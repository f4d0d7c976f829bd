#!/usr/bin/env bash
# compare.sh — sluice vs nginx as a reverse proxy, on this machine, same pinning.
#
# Starts an nginx origin (return 200 "hello world\n", 1 worker), then for each
# round runs wrk (warm-up, then a timed run with --latency) against:
#   direct  the origin itself (no proxy: the ceiling),
#   nginx   nginx proxy_pass with upstream keepalive, 1 worker,
#   sluice  sluice, its loops pinned like nginx's worker, one route;
#   sluice-scale (when SCALE_ROUTES > 0) the same sluice with SCALE_ROUTES
#           routes loaded, the benchmarked one among them.
# The proxy under test runs on CPU $PROXY_CPU; wrk and the origin on CPU
# $LOAD_CPU. Targets alternate within each round so drift hits all alike;
# the table reports the median of the rounds. CPU per request is the proxy's
# utime+stime (/proc/PID/stat) over the timed run divided by requests.
#
# Usage: bench/compare.sh            (defaults below; override by env)
#   DURATION=10 WARMUP=2 CONNS=64 ROUNDS=3 SCALE_ROUTES=100000 bench/compare.sh
# Every target is asked for $BENCH_PATH (a prefix route of sluice's).
# Writes bench/results/compare-<UTC time>.json.
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
ROUNDS=${ROUNDS:-3}
SCALE_ROUTES=${SCALE_ROUTES:-0}
BENCH_PATH=${BENCH_PATH:-/svc7/api/v1/res707/item}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
ORIGIN_PORT=${ORIGIN_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
SLUICE_PORT=${SLUICE_PORT:-18082}
SCALE_PORT=${SCALE_PORT:-18083}
default_targets="direct nginx sluice"
[ "$SCALE_ROUTES" -gt 0 ] && default_targets="$default_targets sluice-scale"
TARGETS=${TARGETS:-$default_targets}

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/sluice-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need nginx || ! need taskset; then
	echo "installing wrk and nginx (apt-get)..." >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null && apt-get install -y -qq wrk nginx-light util-linux >/dev/null
fi

echo "building sluice..." >&2
(cd "$root" && go build -o "$work/sluice" ./cmd/sluice)

mkdir -p "$work/logs"
cat >"$work/origin.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/origin.pid;
error_log $work/logs/origin.err warn;
events { worker_connections 10240; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$ORIGIN_PORT reuseport backlog=4096;
    keepalive_requests 1000000;
    location / { return 200 "hello world\n"; }
  }
}
EOF
cat >"$work/proxy.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/proxy.pid;
error_log $work/logs/proxy.err warn;
events { worker_connections 10240; }
http {
  access_log off;
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 320; keepalive_requests 1000; keepalive_timeout 60s; }
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
# sluice_conf DIR PORT ROUTES writes config.yaml and apisix.yaml there: ROUTES
# routes like /svcN/api/v1/resM/*, always including the benchmarked one.
sluice_conf() {
	mkdir -p "$1"
	cat >"$1/config.yaml" <<EOF
apisix:
  node_listen:
    - ip: 127.0.0.1
      port: $2
deployment:
  role: data_plane
  role_data_plane:
    config_provider: yaml
nginx_config:
  http:
    enable_access_log: false # as the nginx it is compared with (access_log off)
EOF
	{
		echo "routes:"
		printf '  - id: bench\n    uri: /svc7/api/v1/res707/*\n    upstream_id: origin\n'
		awk -v n="$3" 'BEGIN { for (i = 1; i < n; i++) if (i != 707) printf "  - id: r%d\n    uri: /svc%d/api/v1/res%d/*\n    upstream_id: origin\n", i, i % 1000, i }'
		printf 'upstreams:\n  - id: origin\n    nodes:\n      "127.0.0.1:%d": 1\n#END\n' "$ORIGIN_PORT"
	} >"$1/apisix.yaml"
}
sluice_conf "$work/one" "$SLUICE_PORT" 1
if [ "$SCALE_ROUTES" -gt 0 ]; then sluice_conf "$work/scale" "$SCALE_PORT" "$SCALE_ROUTES"; fi

taskset -c "$LOAD_CPU" nginx -c "$work/origin.conf" &
pids+=($!)
taskset -c "$PROXY_CPU" nginx -c "$work/proxy.conf" &
pids+=($!)
taskset -c "$PROXY_CPU" "$work/sluice" run -c "$work/one/config.yaml" -log-level warn 2>"$work/logs/sluice.log" &
sluice_pid=$!
pids+=($sluice_pid)
scale_pid=
if [ "$SCALE_ROUTES" -gt 0 ]; then
	taskset -c "$PROXY_CPU" "$work/sluice" run -c "$work/scale/config.yaml" -log-level warn 2>"$work/logs/sluice-scale.log" &
	scale_pid=$!
	pids+=($scale_pid)
fi

wait_port() {
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "port $1 never opened" >&2
	exit 1
}
wait_port "$ORIGIN_PORT"
wait_port "$NGINX_PORT"
wait_port "$SLUICE_PORT"
if [ -n "$scale_pid" ]; then wait_port "$SCALE_PORT"; fi

port_of() { case $1 in direct) echo "$ORIGIN_PORT" ;; nginx) echo "$NGINX_PORT" ;; sluice) echo "$SLUICE_PORT" ;; sluice-scale) echo "$SCALE_PORT" ;; esac; }
pid_of() {
	case $1 in
	direct) echo "" ;;
	nginx) pgrep -P "$(cat "$work/proxy.pid")" | head -1 ;; # the worker
	sluice) echo "$sluice_pid" ;;
	sluice-scale) echo "$scale_pid" ;;
	esac
}
cpu_ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
to_ms() { # wrk latency like 812.00us, 1.20ms, 1.01s → milliseconds
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
		else printf "%s", v }'
}
hz=$(getconf CLK_TCK)

results="$work/results.tsv"
: >"$results"
for round in $(seq 1 "$ROUNDS"); do
	for target in $TARGETS; do
		url="http://127.0.0.1:$(port_of "$target")$BENCH_PATH"
		taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null
		pid=$(pid_of "$target")
		before=$(cpu_ticks "$pid")
		out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url")
		after=$(cpu_ticks "$pid")
		rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
		reqs=$(awk '/requests in/ {print $1}' <<<"$out")
		p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
		p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
		errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
		cpu_us=$(awk -v a="$after" -v b="$before" -v n="$reqs" -v hz="$hz" -v t="$target" \
			'BEGIN { if (t == "direct") print "-"; else printf "%.2f", (a - b) / hz * 1e6 / n }')
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$round" "$rps" "$p50" "$p99" "$cpu_us" >>"$results"
		printf 'round %d %-7s %10s req/s  p50 %6s ms  p99 %6s ms  cpu %6s us/req %s\n' \
			"$round" "$target" "$rps" "$p50" "$p99" "$cpu_us" "$errors" >&2
	done
done

median() { sort -g | awk '{a[NR] = $1} END { if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v t="$1" -v c="$2" '$1 == t && $c != "-" {print $c}' "$results" | median; }

echo
printf '%-13s %12s %10s %10s %14s\n' target "req/s" "p50 ms" "p99 ms" "cpu us/req"
declare -A med
for target in $TARGETS; do
	med[$target.rps]=$(col "$target" 3)
	med[$target.p50]=$(col "$target" 4)
	med[$target.p99]=$(col "$target" 5)
	med[$target.cpu]=$(col "$target" 6)
	printf '%-13s %12s %10s %10s %14s\n' "$target" "${med[$target.rps]}" "${med[$target.p50]}" "${med[$target.p99]}" "${med[$target.cpu]:--}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "null"; else printf "%.3f", a / b }'; }
rps_ratio=$(ratio "${med[sluice.rps]:-}" "${med[nginx.rps]:-}")
cpu_ratio=$(ratio "${med[sluice.cpu]:-}" "${med[nginx.cpu]:-}")
p99_ratio=$(ratio "${med[sluice.p99]:-}" "${med[nginx.p99]:-}")
echo
echo "sluice/nginx: req/s x$rps_ratio, cpu per request x$cpu_ratio, p99 x$p99_ratio (medians of $ROUNDS rounds)"
scale_json=
if [ -n "$scale_pid" ]; then
	scale_rps=$(ratio "${med[sluice-scale.rps]:-}" "${med[sluice.rps]:-}")
	scale_cpu=$(ratio "${med[sluice-scale.cpu]:-}" "${med[sluice.cpu]:-}")
	echo "sluice with $SCALE_ROUTES routes / with 1 route: req/s x$scale_rps, cpu per request x$scale_cpu"
	scale_json=$(printf '  "scale_vs_one_route": {"routes": %s, "rps": %s, "cpu_per_req": %s},' "$SCALE_ROUTES" "$scale_rps" "$scale_cpu")
fi

mkdir -p "$root/bench/results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
json="$root/bench/results/compare-$stamp.json"
{
	printf '{\n  "date": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf '  "machine": {"cpu": "%s", "cores": %s, "kernel": "%s"},\n' \
		"$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$(nproc)" "$(uname -r)"
	printf '  "versions": {"sluice": "%s", "nginx": "%s", "wrk": "%s"},\n' \
		"$("$work/sluice" version | awk '{print $2}')" "$(nginx -v 2>&1 | sed 's/.*nginx\///')" "$(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
	printf '  "settings": {"duration_s": %s, "warmup_s": %s, "connections": %s, "rounds": %s, "scale_routes": %s, "path": "%s", "proxy_cpu": %s, "load_cpu": %s},\n' \
		"$DURATION" "$WARMUP" "$CONNS" "$ROUNDS" "$SCALE_ROUTES" "$BENCH_PATH" "$PROXY_CPU" "$LOAD_CPU"
	printf '  "median": {\n'
	first=1
	for target in $TARGETS; do
		[ $first = 1 ] || printf ',\n'
		first=0
		cpu=${med[$target.cpu]:-}
		printf '    "%s": {"rps": %s, "p50_ms": %s, "p99_ms": %s, "cpu_us_per_req": %s}' "$target" \
			"${med[$target.rps]}" "${med[$target.p50]}" "${med[$target.p99]}" "${cpu:-null}"
	done
	printf '\n  },\n'
	printf '  "sluice_vs_nginx": {"rps": %s, "cpu_per_req": %s, "p99": %s},\n' "$rps_ratio" "$cpu_ratio" "$p99_ratio"
	if [ -n "$scale_json" ]; then echo "$scale_json"; fi
	printf '  "rounds": [\n'
	awk -F'\t' 'BEGIN {sep=""} { printf "%s    {\"target\": \"%s\", \"round\": %s, \"rps\": %s, \"p50_ms\": %s, \"p99_ms\": %s, \"cpu_us_per_req\": %s}", sep, $1, $2, $3, $4, $5, ($6 == "-" ? "null" : $6); sep=",\n" }' "$results"
	printf '\n  ]\n}\n'
} >"$json"
echo "wrote $json"

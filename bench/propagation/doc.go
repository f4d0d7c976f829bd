// Command propagation measures how fast configuration reaches traffic:
//
//   - initial load: N routes already in etcd, sluice started; the time until
//     /status/ready, and sluice's own account of fetch and build;
//   - propagation: an Admin API write acknowledged → the first request
//     served by the new config (route created, route moved to another
//     upstream, and upstream "a", which every loaded route names, moved to
//     another node), polled through the proxy;
//   - the serving path's cost: latency of steady traffic on an unrelated
//     route while changes are applied, against the same traffic with none.
//     That traffic runs closed loop by default, which keeps CPU 1 (this
//     tool, etcd, the upstreams) busy, so every probe also waits there;
//     -load-rate sets a request rate instead.
//
// It runs a real etcd server (built from the etcd module this repository
// depends on), the real sluice binary pinned to CPU 0, and upstreams, load
// and polling pinned to CPU 1. Besides times it reports sluice's RSS (at
// ready, once settled, after the changes, and its peak) and the CPU it
// spent loading; with -sluice-log-level debug, how long sluice itself took
// to apply each change, and with -sluice-godebug gctrace=1 its collections
// among its log lines. -source yaml measures a standalone data plane
// instead: start to ready from a generated apisix.yaml, and one route
// changed in the file to the first request it serves.
//
//	go run ./bench/propagation -routes 100000 -changes 300
//	go run ./bench/propagation -routes 1000000 -changes 300 -sluice-log-level debug
//	go run ./bench/propagation -routes 1000000 -changes 100 -load-rate 2000
//	go run ./bench/propagation -routes 1000000 -source yaml
//	go run ./bench/propagation -routes 1000000 -changes 0 -sluice-cpuprofile /tmp/load.prof
package main

// Command propagation measures how fast configuration reaches traffic:
//
//   - initial load: N routes already in etcd, sluice started; the time until
//     /status/ready, and sluice's own account of fetch and build;
//   - propagation: an Admin API write acknowledged → the first request
//     served by the new config (route created, and route moved to another
//     upstream), polled through the proxy;
//   - the serving path's cost: latency of steady traffic on an unrelated
//     route while changes are applied, against the same traffic with none.
//
// It runs a real etcd server (built from the etcd module this repository
// depends on), the real sluice binary pinned to CPU 0, and upstreams, load
// and polling pinned to CPU 1.
//
//	go run ./bench/propagation -routes 100000 -changes 300
package main

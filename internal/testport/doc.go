// Package testport hands tests loopback ports to listen on, for servers
// that must be told their address before they start (etcd, the gateway,
// an upstream that is meant to refuse connections: Refused).
//
// The kernel gives a port that was probed and closed back out again, so
// two probes in a row can return the same port: a gateway routed to a
// "dead" address then proxied to itself until the head grew too large
// (431), and an exporter bound a port the control API already had. Port
// never returns a port twice in one process.
package testport

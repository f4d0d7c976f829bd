// Package embedetcd owns the etcd server sluice can run inside its own
// process (config.yaml's sluice.embedded_etcd, and what sluice does with no
// config at all): a single-node cluster with its data on local disk,
// started, waited for and stopped here.
//
// It refuses to own anything a client does. sluice reads and writes the
// embedded server through an ordinary etcd client, exactly as it would a
// production cluster (package sync watches it, package admin writes to
// it), so a node on its own etcd and a node on a shared cluster run the
// same code; other sluice nodes and etcdctl can use its client address too.
//
// # Lifecycle
//
// Start creates the data directory if needed, starts etcd on the client and
// peer addresses given and returns once the server is ready to serve (or
// fails after Options.StartTimeout). Err reports a fatal error after start.
// Close stops the server; close its clients first, because the server waits
// for open streams such as watches to end. Data survives a restart:
// the next Start on the same directory serves the same keys and revisions.
// History older than an hour is compacted automatically.
//
// The name says what it is: an embedded etcd, not etcd's own
// server/etcdserver package (raft and the MVCC store), which this wraps
// through go.etcd.io/etcd/server/v3/embed.
package embedetcd

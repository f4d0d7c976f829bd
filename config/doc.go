// Package config owns APISIX's configuration objects (route, upstream,
// service, ...) as sluice understands them: their JSON form as stored in
// etcd or written in apisix.yaml, their validation, and their normalised
// runtime form (upstream nodes as a list with ports, timeouts as durations,
// method names as a bit set, host names lower-cased).
//
// It refuses to own where objects come from (package sync) or how they are
// served (engine); it never touches the network.
//
// Decoding is Decode-then-Normalize: Decode* parses one object's JSON and
// rejects what APISIX's schema rejects; the returned object is immutable from
// then on and safe to share between goroutines and snapshots.
package config

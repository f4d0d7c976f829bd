// Package shdict owns the local policy's storage of APISIX's traffic-control
// plugins: the Go counterpart of the nginx lua_shared_dict each of
// limit-count, limit-req and limit-conn keeps its counters in, one per
// process, shared by every event loop.
//
// A Dict maps counter keys (strings) to a plugin's per-key state, a value
// type V. Keys are spread over 64 shards by a seeded hash, each shard a map
// from key to a slot in a slice of V under its own mutex, held only for a
// lookup and a few arithmetic operations; freed slots are reused, so a new
// key costs one allocation (its string) once the shard has grown. A known
// key allocates nothing.
//
// # Eviction
//
// A dict never sweeps on its own. Each insertion of a new key samples a few
// entries of its shard (Go's random map order, as Redis samples keys to
// expire): a sampled entry that is stale — the same as no entry at all, as a
// drained bucket, an expired window or a key with nothing in flight is — is
// deleted. A shard holds at most its share of the dict's key cap; when it is
// full, the sampled entry with the earliest deadline goes (nginx evicts its
// least recently used entry when a dict is full), and when no sampled entry
// has a deadline (limit-conn's keys in flight must never be forgotten) the
// new key is not kept. What stale and deadline mean is the value type's
// (Entry); the sampling and the cap are the same for every plugin.
//
// It refuses to own counting: the algorithms (fixed and sliding windows,
// leaky buckets, in-flight counts) stay in the plugin packages, which work
// on their values under the shard lock.
//
// # Concurrency
//
// A Dict is safe from any goroutine. Lock returns a key's shard locked;
// every *Locked method needs it held, and a value pointer they return is
// valid only until the shard is unlocked (an insertion may move values).
package shdict

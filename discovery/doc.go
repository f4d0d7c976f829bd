// Package discovery owns where upstream nodes come from when the
// configuration names them rather than listing addresses: host-name nodes
// ("nodes": {"api.internal:8080": 1}) and discovery_type "dns"
// (service_name resolved through A, AAAA and SRV records), with APISIX's
// semantics (apisix/core/resolver.lua, apisix/discovery/dns).
//
// It refuses to own the node lists themselves (sync compiles the resolved
// nodes into the snapshot, with their pickers and health checkers) and the
// request path: nothing here runs on an event loop, and the engine never
// waits for DNS. A configuration change that names a host is compiled with
// that host already resolved; a later change of the answer reaches the
// loops as a new snapshot, like any other configuration change.
//
// # Lifecycle
//
// One Resolver per process. The config builder (sync.Builder) calls Host
// and Service while it compiles an upstream (blocking its goroutine, not a
// loop, for at most Options.Timeout on a name it has not seen) and Release
// when the compiled upstream goes; names nobody holds leave the cache. Run
// refreshes every held name when its answer is Options.Valid old, and when
// an answer changed it signals Changed, on which the config source calls
// the builder's RefreshDNS to recompile the upstreams using that name.
// A failed refresh keeps the last good answer; a name that never resolved
// is tried again on every refresh.
//
// # Semantics
//
//   - Host nodes: one address per name, as APISIX's parse_domain picks
//     one answer at random; IPv4 answers are preferred (APISIX's resolver
//     queries A unless enable_ipv6). A refresh keeps the address while the
//     name still resolves to it, so round-robin DNS does not churn
//     snapshots.
//   - dns discovery: SRV first, then A and AAAA. SRV targets become nodes
//     with the record's port (unless service_name names one), its weight
//     split evenly between the target's addresses, and priority
//     -record.priority (lower SRV priority first, as APISIX maps it). A
//     weight of 0 counts as 1: RFC 2782 gives such records a small, not
//     zero, chance. Without SRV records every address is a node of weight
//     1 on service_name's port (or the scheme's).
//
// Answers are cached for Options.Valid (default 30 s) rather than their
// record TTLs: Go's resolver, which also reads /etc/hosts and resolv.conf,
// does not expose TTLs. Options.Servers sends every query to the given
// servers instead of resolv.conf's (APISIX's discovery.dns.servers).
//
// # Concurrency
//
// Every method is safe from any goroutine; one mutex guards the cache and
// is never held during a lookup.
package discovery

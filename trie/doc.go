// Package trie owns request routing: a persistent compressed radix trie and,
// built on it, APISIX's route matching rules (lua-resty-radixtree as APISIX
// configures it in its three apisix.router.http modes).
//
// It refuses to own what a route leads to (routes carry an opaque value, the
// sync package's compiled route) and where routes come from.
//
// # Matching (match.go)
//
// A route path without '*' (or, in the parameter mode, ':') is an exact key;
// "/p*" stores the prefix key "/p"; "/p/:id" (parameter mode) and "/a/*/b"
// store the key before the first ':' or '*' plus a pattern checked against
// the whole path. A lookup tries the exact key's routes first, then prefix
// keys from the longest to the shortest. Routes stored at the same key are
// ordered by priority, then by longer original path, then by load order
// (Route.Seq).
//
// Exact paths are looked up by hash before anything else, as
// lua-resty-radixtree does. So are prefix keys ending in '/' ("/api/v1/*",
// "/svc/:id": nearly all of them), at the request path's slashes from the
// last, and only at slash counts some key of the index has (a table of
// "/svcN/api/v1/resM/*" routes probes once). Other prefix keys ("/foo*",
// "*") live in a trie, walked once, whose keys are merged in by length.
// Each candidate's checks run in APISIX's order: method, remote address,
// host (URI modes), vars, filter_func, parameters; a failing candidate
// falls through to the next. The method check is one AND of the route's
// httpmethod.Set with the request's method bit.
//
// In HostURI mode a reversed-host trie comes first: the exact host's path
// trie, then wildcard hosts from the longest suffix ("*.foo.com" is the
// prefix "moc.oof." of the reversed host), and only then the host-less
// routes, so any route with a matching host beats every host-less one.
//
// # Layout and persistence (hash.go, radix.go)
//
// A large table does not fit in cache, so what a lookup costs is the cold
// cache lines it touches (and, on a host without huge pages, their pages).
// The hash table (hash.go) is a small, hot directory of shards; a hit reads
// one line of slots and one two-line record holding the key's first bytes
// and the first route's entry. An entry is 40 bytes: the value, the method
// set, the builder's route, and pointers to the rarer conditions, read only
// by routes that have them (a parameter pattern sits with its template in
// one line); a key's other entries are behind one more pointer. A trie
// node is one cache line: inline label and children's first bytes, children
// stored by value in one contiguous array (a 256-slot array when a node has
// more than 16), the bucket behind one pointer.
//
// A Router is immutable. Update copies the hash shard and directory page,
// or the trie arrays, on the changed keys' paths and shares everything
// else with the previous version (a few µs and ~9 KiB at 100K routes);
// New and Update mutate in place only what their own txn created. A build
// cuts its hash records from 32 KiB slabs (recSlab); an update allocates
// its few alone, so a slab is never written once published.
// Publishing is the caller's single atomic pointer store; Match is safe
// from any number of goroutines and allocates nothing.
package trie

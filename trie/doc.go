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
// the whole path. One descent of the path trie yields the exact key's routes
// first, then prefix keys from the longest to the shortest. Routes stored at
// the same key are ordered by priority, then by longer original path, then
// by load order (Route.Seq). Each candidate's checks run in APISIX's order:
// method, remote address, host (URI modes), vars, filter_func, parameters;
// a failing candidate falls through to the next. The method check is one
// AND of the route's httpmethod.Set with the request's method bit.
//
// In HostURI mode a reversed-host trie comes first: the exact host's path
// trie, then wildcard hosts from the longest suffix ("*.foo.com" is the
// prefix "moc.oof." of the reversed host), and only then the host-less
// routes, so any route with a matching host beats every host-less one.
//
// # Layout and persistence (radix.go)
//
// A node is one cache line: inline label and children's first bytes, children
// stored by value in one contiguous array (a 256-slot array when a node has
// more than 16), values behind one pointer. Routes at a key are a slice of
// entry values holding copies of the fields the checks read. A lookup at
// 100K routes touches about one cache line per trie level.
//
// A Router is immutable. Update path-copies the arrays on the changed keys'
// paths and shares everything else with the previous version (a few µs at
// 100K routes); New and Update mutate in place only what their own txn
// created. Publishing is the caller's single atomic pointer store; Match is
// safe from any number of goroutines and allocates nothing.
package trie

// Package trie owns request routing: the compressed radix trie and, built
// on it, APISIX's route matching rules (exact paths first, then prefixes from
// the longest to the shortest, priority within one stored path, and per
// candidate the method, remote address, host, vars and filter checks).
//
// A Router is immutable once built; a config change produces the next
// Router and publishes it atomically (package sync). Match is safe from any
// number of goroutines and allocates nothing.
//
// It refuses to own what a route leads to: routes carry an opaque value
// (the sync package's compiled route).
package trie

// Package httpmethod owns the one encoding of HTTP request methods that the
// parser, the router and the route objects share: Method, APISIX's route
// method enum as a small integer, and Set, a bit set of them (bit i is
// Method i).
//
// A request's method is decoded once at parse time (package http1), a
// route's methods once per config version (package config), and the router
// (package trie) matches one against the other with a single AND. For that
// to be one AND, all three must agree on the bit layout, so the layout lives
// here, in one place, rather than in one of them: http1 may import nothing
// of ours, and config and trie may not import http1 (DESIGN.md's import
// table). It is internal because it is that shared encoding and nothing
// more; it refuses to own parsing the wire (http1) or config texts and
// their errors (config).
//
// Everything here is a value type with no state: safe from any goroutine.
package httpmethod

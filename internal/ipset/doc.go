// Package ipset owns sets of IP addresses and CIDR ranges, matched the way
// APISIX's resty.ipmatcher matches them (core.ip.create_ip_matcher): the
// lists of ip-restriction's whitelist and blacklist and real-ip's
// trusted_addresses.
//
// A list is parsed once (Parse, with APISIX's core.ip.validate_cidr_or_ip
// rules and its "invalid ip address: X" text) into two sorted arrays of
// disjoint ranges, one per address family; a lookup is one binary search
// and allocates nothing. As in ipmatcher, the families never mix: an
// IPv4-mapped IPv6 address ("::ffff:1.2.3.4") is an IPv6 address and only
// IPv6 entries can match it, and an address with a zone never matches.
//
// It refuses to own where addresses come from (the request context) and
// what a match means (the plugins). A Set is immutable after Parse and safe
// to share between goroutines.
package ipset

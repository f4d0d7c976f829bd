// Package iprestriction is APISIX's ip-restriction plugin (priority 3000,
// access phase; apisix/plugins/ip-restriction/init.lua, 3.18): a request
// whose client address ($remote_addr, as real-ip may have set it) is not
// on the whitelist, or is on the blacklist, is answered response_code (403,
// or 404) with APISIX's body {"message":"<message>"}.
//
// The list is compiled once per conf into sorted disjoint ranges
// (internal/ipset) and the answer's body is encoded once, so a request is
// one binary search on the client's parsed address and allocates nothing
// (alloc_test.go). Matching follows resty.ipmatcher: IPv4 and IPv6 entries
// and CIDRs; an IPv4-mapped IPv6 client address matches IPv6 entries only;
// a client without an IP address (none parsed) is on no list.
//
// The body is encoded as lua-cjson encodes it ("/" written "\/", no HTML
// escaping), so a message comes back byte for byte as APISIX sends it.
//
// There is no deliberate difference from APISIX (its ipmatcher LRU cache
// of 512 lists is replaced by compiling each conf's list once).
package iprestriction

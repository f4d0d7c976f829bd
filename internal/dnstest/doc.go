// Package dnstest runs a tiny authoritative DNS server on loopback for
// tests of host-name nodes and dns discovery: A, AAAA and SRV answers that
// a test sets and changes while it runs. UDP only, one question per
// message. Test code only.
package dnstest

package sync

import (
	"encoding/json"
	"net/netip"
	"strings"

	"github.com/sluicegw/sluice/config"
)

// upstreamInterns shares one compiled Upstream among routes whose inline
// upstreams are identical (issue 13). With 100K routes each carrying the
// same {"nodes": {...}, "type": "roundrobin"}, compiling each one gave
// every route its own picker, Ref and per-loop balancer state: 100K copies
// of the same thing, each cold when its route is asked for. Interned, they
// are one hot Upstream, counted like node addresses (nodeTable): every
// route holding it is one use, and the last route to drop it releases it
// (its Ref, node Refs and checker) as releaseUpstream does for any other.
//
// Identical means the same normalized config.Upstream, compared by its JSON
// encoding (every field, so a field added to config.Upstream is compared
// too). Only upstreams whose compiled form depends on nothing but that
// config are interned: plain-HTTP nodes given as IP addresses, no service
// discovery, no health checks. Host names resolve through DNS and https
// may present an ssl object, so those compile again when an answer or the
// ssl changes, per route; and APISIX runs a health checker per route,
// which the control API lists under its route. Builder goroutine only.
type upstreamInterns struct {
	byKey map[string]*internEntry
}

type internEntry struct {
	up   *Upstream
	uses int
}

// internKey is u's identity for interning; ok is false when u must stay
// the route's own.
func internKey(u *config.Upstream) (key string, ok bool) {
	if u.Checks != nil || u.DiscoveryType != "" || u.ServiceName != "" || (u.Scheme != "" && u.Scheme != "http") {
		return "", false
	}
	for i := range u.Nodes {
		if _, err := netip.ParseAddr(strings.Trim(u.Nodes[i].Host, "[]")); err != nil {
			return "", false
		}
	}
	b, err := json.Marshal(u)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// routeUpstream returns the compiled form of a route's inline upstream,
// shared with every other route whose inline upstream is identical.
func (b *Builder) routeUpstream(routeID string, u *config.Upstream) *Upstream {
	key, ok := internKey(u)
	if !ok {
		return b.compileUpstream(config.Routes.Name+"/"+routeID, u)
	}
	t := &b.interns
	if t.byKey == nil {
		t.byKey = map[string]*internEntry{}
	}
	e := t.byKey[key]
	if e == nil {
		e = &internEntry{up: b.compileUpstream(config.Routes.Name+"/"+routeID, u)}
		e.up.interned = key
		t.byKey[key] = e
	}
	e.uses++
	return e.up
}

// releaseRouteUpstream gives back a route's share of its inline upstream.
func (b *Builder) releaseRouteUpstream(u *Upstream) {
	if u == nil || u.interned == "" {
		b.releaseUpstream(u)
		return
	}
	e := b.interns.byKey[u.interned]
	if e == nil || e.up != u {
		return
	}
	if e.uses--; e.uses > 0 {
		return
	}
	delete(b.interns.byKey, u.interned)
	b.releaseUpstream(u)
}

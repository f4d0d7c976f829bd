package sync

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/balancer"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/vartmpl"
)

// Compiling upstreams: nodes (resolved when named by host or discovered
// through DNS), pickers, health checkers, chash keys and TLS settings, and
// compiling them again when a name's answer or a client certificate
// changes.

// compileUpstream builds the runtime form of u, taking a Ref for it and
// for each of its nodes, and its health checker; releaseUpstream gives them
// back when the compiled upstream leaves the builder's state. owner names
// the object holding u ("upstreams/1", "routes/5" for an inline upstream).
//
// Host-name nodes are resolved here (one address per name) and
// discovery_type dns upstreams get the nodes their service resolves to,
// so the engine only ever dials addresses; RefreshDNS compiles them again
// when an answer changes.
func (b *Builder) compileUpstream(owner string, u *config.Upstream) *Upstream {
	cu := &Upstream{ID: u.ID.S, Conf: u, Ref: b.upRefs.alloc(), Balancer: u.Balancer, PassHost: u.PassHost}
	// Connections to one address are shared (pooled) only between
	// upstreams that speak to it the same way: plain HTTP, or TLS with the
	// same verification and client certificate.
	tlsID := ""
	if u.Proto == config.SchemeHTTPS {
		cu.TLS, tlsID = b.upstreamTLS(u)
	}
	nodes := u.Nodes
	picked := u
	if u.Discovery == config.DiscoveryDNS {
		nodes = b.discover(cu, u)
		c := *u
		c.Nodes = nodes
		picked = &c
	}
	cu.Nodes = make([]Node, len(nodes))
	var names []string // host names of resolved nodes, for health probes
	for i := range nodes {
		n := &nodes[i]
		host := n.Host
		if n.Port != u.Proto.DefaultPort() {
			host += ":" + strconv.Itoa(n.Port)
		}
		node := Node{Addr: n.Addr(), HostHeader: []byte(host), Host: n.Host, Port: n.Port}
		if ip, err := netip.ParseAddr(strings.Trim(n.Host, "[]")); err == nil {
			node.IP = netip.AddrPortFrom(ip, uint16(n.Port))
		} else if b.Resolver != nil {
			cu.dnsHosts = append(cu.dnsHosts, n.Host)
			if ip, err := b.Resolver.Host(n.Host); err == nil {
				// APISIX's upstream_addr and balancer_ip show the address.
				node.IP = netip.AddrPortFrom(ip, uint16(n.Port))
				node.Addr, node.Host = node.IP.String(), ip.String()
				if names == nil {
					names = make([]string, len(nodes))
				}
				names[i] = n.Host
			}
		}
		node.key = tlsID + node.Addr
		node.Ref = b.nodes.acquire(node.key)
		cu.Nodes[i] = node
	}
	cu.Picker = balancer.New(picked)
	if u.UpstreamHost != "" {
		cu.HostRewrite = []byte(u.UpstreamHost)
	}
	cu.Retries = max(len(cu.Nodes)-1, 0)
	if u.Retries != nil {
		cu.Retries = *u.Retries
	}
	if u.Timeout != nil {
		cu.Timeout = timeoutsOf(u.Timeout)
	}
	if u.RetryTimeout != nil {
		cu.RetryTimeout = u.RetryTimeout.Duration()
	}
	if u.Balancer == config.CHash {
		cu.Hash = compileHashKey(u)
	}
	if u.Checks != nil {
		addrs := make([]string, len(cu.Nodes))
		for i := range cu.Nodes {
			addrs[i] = cu.Nodes[i].Addr
		}
		// Probes dial the resolved addresses and name host-name nodes
		// by their name (Host header, TLS server name), as APISIX does.
		cu.Health = b.Health.AcquireNamed(owner, u, addrs, names)
	}
	return cu
}

// discover returns the nodes of a discovery_type dns upstream, as config
// nodes (so the picker is built from them like from listed ones).
func (b *Builder) discover(cu *Upstream, u *config.Upstream) config.Nodes {
	if b.Resolver == nil {
		return nil
	}
	cu.dnsService, cu.dnsPort = u.ServiceName, u.Proto.DefaultPort()
	found, _ := b.Resolver.Service(u.ServiceName, cu.dnsPort) // the resolver logs failures
	nodes := make(config.Nodes, len(found))
	for i, n := range found {
		host := n.Addr.String()
		if n.Addr.Is6() {
			host = "[" + host + "]"
		}
		nodes[i] = config.Node{Host: host, Port: n.Port, Weight: n.Weight, Priority: n.Priority}
	}
	return nodes
}

// upstreamTLS builds the TLS client configuration of an https upstream
// and the identity its connections are pooled under ("https|..."):
// verification (tls.verify) against UpstreamCAs, and the client
// certificate for mTLS, inline (tls.client_cert/client_key) or an ssl
// object (tls.client_cert_id). The engine sets ServerName per connection
// (the Host sent upstream, as APISIX's proxy_ssl_name). A client
// certificate that cannot be loaded is left out (the upstream may then
// refuse the handshake: 502), and said in the log.
func (b *Builder) upstreamTLS(u *config.Upstream) (*tls.Config, string) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		RootCAs:            b.UpstreamCAs,
		ClientSessionCache: tls.NewLRUClientSessionCache(64),
	}
	id := "https|"
	t := u.TLS
	if t == nil || !t.Verify {
		cfg.InsecureSkipVerify = true // tls.verify false, APISIX's default
	} else {
		id += "verify|"
	}
	var kr *config.Keyring
	if b.Pipeline != nil {
		kr = b.Pipeline.Keyring
	}
	var cert *tls.Certificate
	var err error
	switch {
	case t != nil && t.ClientCert != "":
		var c tls.Certificate
		if c, err = tls.X509KeyPair([]byte(t.ClientCert), []byte(t.ClientKey)); err == nil {
			cert = &c
		}
	case t != nil && !t.ClientCertID.IsZero():
		s, ok := b.st.objs[config.SSLs][t.ClientCertID.S]
		if !ok {
			err = fmt.Errorf("ssl %s not found", t.ClientCertID.S)
			break
		}
		var certs []tls.Certificate
		if certs, err = s.obj.(*config.SSL).Certificates(kr); err == nil {
			cert = &certs[0]
		}
	}
	if err != nil && b.Logger != nil {
		b.Logger.Error("upstream client certificate not loaded", "upstream", u.ID.S, "err", err)
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
		sum := sha256.Sum256(cert.Certificate[0])
		id += hex.EncodeToString(sum[:8]) + "|"
	}
	return cfg, id
}

// compileHashKey compiles chash's hash_on and key (APISIX's
// fetch_chash_hash_key): vars reads the variable named key, header and
// cookie read http_<key> and cookie_<key>, vars_combinations expands key as
// a template, consumer reads the consumer's name.
func compileHashKey(u *config.Upstream) HashKey {
	h := HashKey{On: u.HashSource}
	switch u.HashSource {
	case config.HashVars:
		h.Var = expr.ParseVar(u.Key)
	case config.HashHeader:
		// nginx's $http_ names: lower case, '-' written as '_'.
		h.Var = expr.ParseVar("http_" + strings.ReplaceAll(strings.ToLower(u.Key), "-", "_"))
	case config.HashCookie:
		h.Var = expr.ParseVar("cookie_" + u.Key)
	case config.HashVarsCombinations:
		h.Template = vartmpl.Compile(u.Key, false)
	}
	return h
}

// storeSSLUsers compiles again the upstreams and services whose upstream
// names ssl id as its client certificate, and marks routes with such an
// inline upstream.
func (b *Builder) storeSSLUsers(id string, marked map[string]struct{}, problems *[]error) {
	st := b.st
	usesSSL := func(u *config.Upstream) bool {
		return u != nil && u.TLS != nil && u.TLS.ClientCertID.S == id
	}
	for _, uid := range sortedKeys(st.objs[config.Upstreams]) {
		if s := st.objs[config.Upstreams][uid]; usesSSL(s.obj.(*config.Upstream)) {
			b.store(Change{Kind: config.Upstreams, ID: uid, Item: s.item}, s.obj, marked, problems)
		}
	}
	for _, sid := range sortedKeys(st.objs[config.Services]) {
		if s := st.objs[config.Services][sid]; usesSSL(s.obj.(*config.Service).Upstream) {
			b.store(Change{Kind: config.Services, ID: sid, Item: s.item}, s.obj, marked, problems)
		}
	}
	for rid, s := range st.objs[config.Routes] {
		if usesSSL(s.obj.(*routeConf).Upstream) {
			marked[rid] = struct{}{}
		}
	}
}

// prefetchHosts resolves the host-name nodes of the changes' upstreams
// concurrently before they compile one by one.
func (b *Builder) prefetchHosts(changes []Change) {
	if b.Resolver == nil {
		return
	}
	var names []string
	add := func(u *config.Upstream) {
		if u == nil {
			return
		}
		for _, n := range u.Nodes {
			if _, err := netip.ParseAddr(strings.Trim(n.Host, "[]")); err != nil {
				names = append(names, n.Host)
			}
		}
	}
	for _, c := range changes {
		switch o := c.Obj.(type) {
		case *config.Upstream:
			add(o)
		case *config.Service:
			add(o.Upstream)
		case *routeConf:
			add(o.Upstream)
		}
	}
	if len(names) > 1 {
		b.Resolver.Prefetch(names)
	}
}

func (b *Builder) releaseUpstream(u *Upstream) {
	if u == nil {
		return
	}
	b.upRefs.release(u.Ref)
	b.Health.Release(u.Health)
	for i := range u.Nodes {
		b.nodes.release(u.Nodes[i].key)
	}
	for _, h := range u.dnsHosts {
		b.Resolver.ReleaseHost(h)
	}
	if u.dnsService != "" {
		b.Resolver.ReleaseService(u.dnsService, u.dnsPort)
	}
}

// DNSChanges receives a value when a name some compiled upstream uses
// resolves differently; the source then calls RefreshDNS. Nil (never
// ready) without a Resolver.
func (b *Builder) DNSChanges() <-chan struct{} { return b.Resolver.Changed() }

// RefreshDNS compiles again the upstreams that use a name whose answer
// changed (and the routes that use them) and returns the resulting
// snapshot, or nil when nothing uses those names any more.
func (b *Builder) RefreshDNS(version int64) (*Snapshot, []error) {
	b.init()
	hosts, services := b.Resolver.Take()
	if len(hosts)+len(services) == 0 {
		return nil, nil
	}
	uses := func(u *Upstream) bool {
		if u == nil {
			return false
		}
		for _, h := range u.dnsHosts {
			if slices.Contains(hosts, h) {
				return true
			}
		}
		return u.dnsService != "" && slices.Contains(services, u.dnsService)
	}
	st := b.st
	marked := map[string]struct{}{}
	var problems []error
	// Routes naming a recompiled upstream by id see it through the
	// upTable without being compiled again (store), so the snapshot is
	// new even when no route is marked.
	stored := 0
	for _, id := range sortedKeys(st.upstreams) {
		if s, ok := st.objs[config.Upstreams][id]; ok && uses(st.upstreams[id]) {
			b.store(Change{Kind: config.Upstreams, ID: id, Item: s.item}, s.obj, marked, &problems)
			stored++
		}
	}
	for _, id := range sortedKeys(st.svcUpstream) {
		if s, ok := st.objs[config.Services][id]; ok && uses(st.svcUpstream[id]) {
			b.store(Change{Kind: config.Services, ID: id, Item: s.item}, s.obj, marked, &problems)
			stored++
		}
	}
	for id, r := range st.entries {
		if r.ownsUpstream && uses(r.own) || r.refs != nil && slices.ContainsFunc(r.refs.upstreams, uses) {
			marked[id] = struct{}{}
		}
	}
	if len(marked) == 0 && stored == 0 {
		return nil, problems
	}
	b.compileRoutes(dirtyRoutes(nil, marked), nil, &problems)
	snap := st.snapshot(version)
	snap.retired = b.nodes.retired
	return snap, problems
}

package discovery

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultValid   = 30 * time.Second // how long an answer is used before it is resolved again
	DefaultTimeout = 5 * time.Second  // one lookup, SRV targets included
)

// ErrNoAddress: a name resolved to no address (of the families sluice dials).
var ErrNoAddress = errors.New("discovery: no address")

// Options configure a Resolver.
type Options struct {
	// Servers are DNS servers ("ip:port") every query goes to, tried in
	// turn; empty means the system's (resolv.conf), with /etc/hosts read
	// first either way.
	Servers []string
	// Valid is how long an answer is used before it is resolved again
	// (APISIX's dns_resolver_valid); zero means DefaultValid.
	Valid time.Duration
	// Timeout bounds one lookup; zero means DefaultTimeout.
	Timeout time.Duration
	// Logger receives failed lookups; nil discards.
	Logger *slog.Logger
}

// Node is one node of a discovered service.
type Node struct {
	Addr     netip.Addr
	Port     int
	Weight   int
	Priority int
}

// Resolver resolves host-name nodes and dns-discovered services with a
// cache, off the event loops. See the package doc.
type Resolver struct {
	o       Options
	r       *net.Resolver
	changed chan struct{} // capacity 1: an answer changed since Take

	mu       sync.Mutex // guards everything below; never held across a lookup
	hosts    map[string]*hostEntry
	services map[serviceKey]*serviceEntry
	dirtyH   map[string]struct{}
	dirtyS   map[serviceKey]struct{}
}

type hostEntry struct {
	addr netip.Addr // the address nodes of this name use; invalid until resolved
	err  error      // the last lookup's error, when it never resolved
	at   time.Time  // when the answer was taken (zero: never looked up)
	refs int
}

type serviceKey struct {
	name string
	port int // the scheme's default port, for answers without one
}

type serviceEntry struct {
	nodes []Node
	err   error
	at    time.Time
	refs  int
}

// New returns a Resolver; Run refreshes its answers.
func New(o Options) *Resolver {
	if o.Valid <= 0 {
		o.Valid = DefaultValid
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Resolver{
		o:        o,
		r:        net.DefaultResolver,
		changed:  make(chan struct{}, 1),
		hosts:    map[string]*hostEntry{},
		services: map[serviceKey]*serviceEntry{},
		dirtyH:   map[string]struct{}{},
		dirtyS:   map[serviceKey]struct{}{},
	}
	if len(o.Servers) > 0 {
		var next int
		var mu sync.Mutex // guards next
		r.r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			mu.Lock()
			server := o.Servers[next%len(o.Servers)]
			next++
			mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, network, server)
		}}
	}
	return r
}

// Host returns the address host-name nodes of name use, resolving it now
// (blocking for up to Options.Timeout) the first time. Each call holds the
// name in the cache until a matching ReleaseHost.
func (r *Resolver) Host(name string) (netip.Addr, error) {
	r.mu.Lock()
	e := r.hosts[name]
	if e == nil {
		e = &hostEntry{}
		r.hosts[name] = e
	}
	e.refs++
	if !e.at.IsZero() {
		defer r.mu.Unlock()
		return e.addr, e.err
	}
	r.mu.Unlock()
	addr, err := r.lookupHost(name, netip.Addr{})
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.at.IsZero() {
		e.addr, e.err, e.at = addr, err, time.Now()
	}
	return e.addr, e.err
}

// prefetchWorkers bounds the lookups Prefetch runs at once.
const prefetchWorkers = 16

// Prefetch resolves, concurrently, the names not cached yet, so that a
// full configuration load naming many hosts waits for the slowest lookup
// rather than their sum. It takes no hold: names nobody then holds
// (Host) leave the cache at their next refresh.
func (r *Resolver) Prefetch(names []string) {
	r.mu.Lock()
	var todo []string
	for _, n := range names {
		if r.hosts[n] == nil {
			r.hosts[n] = &hostEntry{}
			todo = append(todo, n)
		}
	}
	r.mu.Unlock()
	sem := make(chan struct{}, prefetchWorkers)
	var wg sync.WaitGroup
	for _, n := range todo {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			addr, err := r.lookupHost(n, netip.Addr{})
			r.mu.Lock()
			if e := r.hosts[n]; e != nil && e.at.IsZero() {
				e.addr, e.err, e.at = addr, err, time.Now()
			}
			r.mu.Unlock()
		})
	}
	wg.Wait()
}

// ReleaseHost gives back one hold Host took.
func (r *Resolver) ReleaseHost(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.hosts[name]; e != nil {
		if e.refs--; e.refs <= 0 {
			delete(r.hosts, name)
			delete(r.dirtyH, name)
		}
	}
}

// Service returns the nodes of a dns-discovered service (service_name:
// "host" or "host:port"; defaultPort is the scheme's, for A/AAAA answers
// when service_name names no port), resolving it now the first time. Each
// call holds the service until a matching ReleaseService. The slice is
// shared: do not modify it.
func (r *Resolver) Service(name string, defaultPort int) ([]Node, error) {
	k := serviceKey{name, defaultPort}
	r.mu.Lock()
	e := r.services[k]
	if e == nil {
		e = &serviceEntry{}
		r.services[k] = e
	}
	e.refs++
	if !e.at.IsZero() {
		defer r.mu.Unlock()
		return e.nodes, e.err
	}
	r.mu.Unlock()
	nodes, err := r.lookupService(k)
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.at.IsZero() {
		e.nodes, e.err, e.at = nodes, err, time.Now()
	}
	return e.nodes, e.err
}

// ReleaseService gives back one hold Service took.
func (r *Resolver) ReleaseService(name string, defaultPort int) {
	k := serviceKey{name, defaultPort}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.services[k]; e != nil {
		if e.refs--; e.refs <= 0 {
			delete(r.services, k)
			delete(r.dirtyS, k)
		}
	}
}

// Changed receives a value when an answer changed since the last Take.
func (r *Resolver) Changed() <-chan struct{} {
	if r == nil {
		return nil
	}
	return r.changed
}

// Take returns the names whose answers changed since the last Take (host
// names, and service names) and forgets them.
func (r *Resolver) Take() (hosts, services []string) {
	if r == nil {
		return nil, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for h := range r.dirtyH {
		hosts = append(hosts, h)
	}
	for k := range r.dirtyS {
		services = append(services, k.name)
	}
	clear(r.dirtyH)
	clear(r.dirtyS)
	slices.Sort(hosts)
	slices.Sort(services)
	return hosts, slices.Compact(services)
}

// Run refreshes held answers as they age, until ctx ends.
func (r *Resolver) Run(ctx context.Context) {
	tick := min(max(r.o.Valid/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.refresh(time.Now())
		}
	}
}

// Refresh resolves every held answer again now, whatever its age (tests,
// and an operator's "re-resolve" once one exists).
func (r *Resolver) Refresh() { r.refresh(time.Now().Add(r.o.Valid)) }

// refresh resolves again every held answer older than Valid (or that
// failed, after a second) and signals the ones that changed.
func (r *Resolver) refresh(now time.Time) {
	due := func(at time.Time, failed bool) bool {
		age := now.Sub(at)
		return age >= r.o.Valid || (failed && age >= min(r.o.Valid, time.Second))
	}
	r.mu.Lock()
	var hosts []string
	var keep []netip.Addr
	for h, e := range r.hosts {
		if e.refs <= 0 && !e.at.IsZero() {
			delete(r.hosts, h) // prefetched, then never held
			continue
		}
		if due(e.at, e.err != nil) {
			hosts = append(hosts, h)
			keep = append(keep, e.addr)
		}
	}
	var services []serviceKey
	for k, e := range r.services {
		if due(e.at, e.err != nil) {
			services = append(services, k)
		}
	}
	r.mu.Unlock()

	changed := false
	for i, h := range hosts {
		addr, err := r.lookupHost(h, keep[i])
		r.mu.Lock()
		if e := r.hosts[h]; e != nil {
			e.at = time.Now()
			switch {
			case err == nil && addr != e.addr:
				e.addr, e.err = addr, nil
				r.dirtyH[h] = struct{}{}
				changed = true
			case err == nil:
				e.err = nil
			case !e.addr.IsValid():
				e.err = err // never resolved; a last good answer is kept instead
			}
		}
		r.mu.Unlock()
	}
	for _, k := range services {
		nodes, err := r.lookupService(k)
		r.mu.Lock()
		if e := r.services[k]; e != nil {
			e.at = time.Now()
			switch {
			case err == nil && !slices.Equal(nodes, e.nodes):
				e.nodes, e.err = nodes, nil
				r.dirtyS[k] = struct{}{}
				changed = true
			case err == nil:
				e.err = nil
			case e.nodes == nil:
				e.err = err
			}
		}
		r.mu.Unlock()
	}
	if changed {
		select {
		case r.changed <- struct{}{}:
		default:
		}
	}
}

// lookupHost resolves name and picks one address: keep if it is still an
// answer, else a random one, IPv4 preferred.
func (r *Resolver) lookupHost(name string, keep netip.Addr) (netip.Addr, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Timeout)
	defer cancel()
	addrs, err := r.addrs(ctx, name)
	if err != nil {
		r.o.Logger.Warn("resolving an upstream node", "host", name, "err", err)
		return netip.Addr{}, err
	}
	if slices.Contains(addrs, keep) {
		return keep, nil
	}
	return addrs[rand.IntN(len(addrs))], nil
}

// addrs resolves name to its IPv4 addresses, or its IPv6 ones when it has
// none, sorted.
func (r *Resolver) addrs(ctx context.Context, name string) ([]netip.Addr, error) {
	ips, err := r.r.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, fmt.Errorf("discovery: resolving %s: %w", name, err)
	}
	var v4, v6 []netip.Addr
	for _, ip := range ips {
		ip = ip.Unmap()
		if ip.Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, ip)
		}
	}
	out := v4
	if len(out) == 0 {
		out = v6
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w for %s", ErrNoAddress, name)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out), nil
}

// lookupService resolves a dns-discovered service (see the package doc).
func (r *Resolver) lookupService(k serviceKey) ([]Node, error) {
	host, port := k.name, 0
	if h, p, err := net.SplitHostPort(k.name); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Timeout)
	defer cancel()
	var nodes []Node
	_, srvs, err := r.r.LookupSRV(ctx, "", "", host)
	if err == nil && len(srvs) > 0 {
		for _, s := range srvs {
			addrs, err := r.addrs(ctx, strings.TrimSuffix(s.Target, "."))
			if err != nil {
				r.o.Logger.Warn("resolving an SRV target", "service", k.name, "target", s.Target, "err", err)
				continue
			}
			p := port
			if p == 0 {
				p = int(s.Port)
			}
			w := max(int(s.Weight), 1) / len(addrs)
			for _, a := range addrs {
				nodes = append(nodes, Node{Addr: a, Port: p, Weight: max(w, 1), Priority: -int(s.Priority)})
			}
		}
	} else {
		addrs, aerr := r.addrs(ctx, host)
		if aerr != nil {
			r.o.Logger.Warn("resolving a dns-discovered service", "service", k.name, "err", aerr)
			return nil, aerr
		}
		if port == 0 {
			port = k.port
		}
		for _, a := range addrs {
			nodes = append(nodes, Node{Addr: a, Port: port, Weight: 1})
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("%w for service %s", ErrNoAddress, k.name)
	}
	slices.SortFunc(nodes, func(a, b Node) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return cmp.Compare(a.Port, b.Port)
	})
	return slices.CompactFunc(nodes, func(a, b Node) bool { return a.Addr == b.Addr && a.Port == b.Port }), nil
}

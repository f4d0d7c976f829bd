package health

import (
	"context"
	"crypto/x509"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluicegw/sluice/config"
)

// DefaultMaxProbes bounds the active probes in flight across all checkers
// of a Manager.
const DefaultMaxProbes = 128

// Options configure a Manager.
type Options struct {
	// Events receives what the checkers do (state changes, Down sets
	// published, probes); zero callbacks are skipped. Logging is one
	// listener (LoggingListener).
	Events EventListener
	// RootCAs verifies https probes' certificates when
	// https_verify_certificate is true; nil means the system pool.
	RootCAs *x509.CertPool
	// MaxProbes bounds concurrent active probes across all checkers
	// (default DefaultMaxProbes; each checker is further bounded by its
	// checks.active.concurrency).
	MaxProbes int
}

// Manager runs the health checkers of one process. The config builder
// acquires a Checker for each compiled upstream with checks and releases it
// when the compiled upstream is dropped; Acquire, Release, Status and Close
// are safe from any goroutine.
type Manager struct {
	o    Options
	unit time.Duration // length of an interval "second"; tests shorten it (export_test.go)
	sem  chan struct{} // one slot per probe in flight
	wg   sync.WaitGroup

	mu     sync.Mutex // guards owners, closed, Checker.refs; taken before any group.mu
	owners map[string][]*group
	closed bool
}

// NewManager returns a Manager with no checkers.
func NewManager(o Options) *Manager {
	if o.MaxProbes <= 0 {
		o.MaxProbes = DefaultMaxProbes
	}
	return &Manager{o: o, unit: time.Second, sem: make(chan struct{}, o.MaxProbes), owners: map[string][]*group{}}
}

// group is the checkers of one owner that share one checks config: one
// goroutine probing their targets, which they share by identity, so
// versions of an upstream that differ only in nodes keep the surviving
// targets' counters (APISIX 3.18+ reuses its checker the same way).
type group struct {
	m      *Manager
	owner  string
	checks *config.Checks
	ctx    context.Context
	cancel context.CancelFunc
	wakeC  chan struct{} // a target changed state; capacity 1

	mu       sync.Mutex // guards targets, checkers, target.refs, target.seen; after Manager.mu
	targets  map[string]*target
	checkers []*Checker // newest last
}

// Acquire returns the checker for a compiled upstream: owner names the
// object holding it ("upstreams/1", or "routes/5" and "services/2" for
// inline upstreams), nodes are its node addresses ("host:port") in the
// order the engine indexes them. It returns nil when u has no checks, there
// are no nodes, or m is nil or closed: a nil *Checker is all-healthy.
//
// A version with the same checks and nodes as a live one gets that very
// checker (counted: Release each Acquire); the same checks with other
// nodes get a new checker that shares the surviving targets' state; new
// checks start afresh. Probes of a new checker's group start now, not on
// the first request, and their first round is one interval away.
func (m *Manager) Acquire(owner string, u *config.Upstream, nodes []string) *Checker {
	return m.AcquireNamed(owner, u, nodes, nil)
}

// AcquireNamed is Acquire for nodes that were configured by host name and
// resolved: nodes are the addresses probed ("ip:port"), and names[i], when
// not empty, is the name node i was configured with, which probes send as
// their Host header and TLS server name and the control API shows as its
// hostname (APISIX's domain nodes). names may be nil.
func (m *Manager) AcquireNamed(owner string, u *config.Upstream, nodes, names []string) *Checker {
	if m == nil || u == nil || u.Checks == nil || len(nodes) == 0 {
		return nil
	}
	specs := make([]*target, len(nodes))
	keys := make([]string, len(nodes))
	for i, n := range nodes {
		name := ""
		if i < len(names) {
			name = names[i]
		}
		specs[i] = m.targetFor(u.Checks, u, n, name)
		keys[i] = specs[i].key
	}
	key := strings.Join(keys, "\n")

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	gs := m.owners[owner]
	var g *group
	if n := len(gs); n > 0 && reflect.DeepEqual(gs[n-1].checks, u.Checks) {
		g = gs[n-1]
	} else {
		g = m.startGroupLocked(owner, u.Checks)
		m.owners[owner] = append(gs, g)
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	for i, c := range g.checkers {
		if c.key == key {
			c.refs++
			g.checkers = append(slices.Delete(g.checkers, i, i+1), c) // now the newest
			return c
		}
	}
	c := &Checker{g: g, nodes: slices.Clone(nodes), targets: make([]*target, len(specs)), key: key, refs: 1}
	for i, s := range specs {
		t := g.targets[s.key]
		if t == nil {
			t = s
			g.targets[t.key] = t
		}
		t.refs++
		c.targets[i] = t
		if !slices.Contains(c.unique, t) {
			c.unique = append(c.unique, t)
		}
	}
	c.publishLocked()
	g.checkers = append(g.checkers, c)
	return c
}

// Release gives back a checker Acquire returned. When its last holder
// releases it, its targets no other checker names are dropped, and when
// its group has no checker left, the group's probes stop: in-flight probes
// are cancelled and its goroutines exit (Close waits for them). Reports and
// Down calls on a released checker stay harmless. Release(nil) does
// nothing.
func (m *Manager) Release(c *Checker) {
	if m == nil || c == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.released {
		return
	}
	if c.refs--; c.refs > 0 {
		return
	}
	c.released = true
	g := c.g
	g.mu.Lock()
	g.checkers = slices.DeleteFunc(g.checkers, func(x *Checker) bool { return x == c })
	for _, t := range c.targets {
		if t.refs--; t.refs == 0 {
			delete(g.targets, t.key)
		}
	}
	empty := len(g.checkers) == 0
	g.mu.Unlock()
	if !empty {
		return
	}
	g.cancel()
	gs := slices.DeleteFunc(m.owners[g.owner], func(x *group) bool { return x == g })
	if len(gs) == 0 {
		delete(m.owners, g.owner)
	} else {
		m.owners[g.owner] = gs
	}
}

// Close stops every checker and waits for all probe goroutines to exit.
// Acquire returns nil afterwards.
func (m *Manager) Close() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.closed = true
	for _, gs := range m.owners {
		for _, g := range gs {
			g.cancel()
		}
	}
	m.mu.Unlock()
	m.wg.Wait()
}

func (m *Manager) startGroupLocked(owner string, ck *config.Checks) *group {
	ctx, cancel := context.WithCancel(context.Background())
	g := &group{
		m: m, owner: owner, checks: ck, ctx: ctx, cancel: cancel,
		wakeC:   make(chan struct{}, 1),
		targets: map[string]*target{},
	}
	m.wg.Add(1)
	go g.run()
	return g
}

// wake asks the group's goroutine to publish new Down sets. Never blocks:
// one pending wake covers any number of changes.
func (g *group) wake() {
	select {
	case g.wakeC <- struct{}{}:
	default:
	}
}

// run is the group's goroutine: it publishes Down sets when targets change
// state and starts a round of probes every interval, for healthy and for
// unhealthy targets separately, never two rounds of one kind at once.
func (g *group) run() {
	defer g.m.wg.Done()
	ev := &g.m.o.Events
	if ev.ProbesStarted != nil {
		ev.ProbesStarted(g.owner)
	}
	a := &g.checks.Active
	healthyC, stopH := g.ticker(a.Healthy.Interval)
	defer stopH()
	unhealthyC, stopU := g.ticker(a.Unhealthy.Interval)
	defer stopU()
	var rounds sync.WaitGroup
	done := make(chan bool, 2) // a round ended (true: the unhealthy one); one slot per kind
	var running [2]bool
	start := func(down bool) {
		if running[b2i(down)] {
			return
		}
		list := g.targetsWhere(down)
		if len(list) == 0 {
			return
		}
		running[b2i(down)] = true
		rounds.Go(func() {
			g.probeAll(list)
			done <- down
		})
	}
	for {
		select {
		case <-g.ctx.Done():
			rounds.Wait()
			if ev.ProbesStopped != nil {
				ev.ProbesStopped(g.owner)
			}
			return
		case <-g.wakeC:
			g.publish()
		case <-healthyC:
			start(false)
		case <-unhealthyC:
			start(true)
		case down := <-done:
			running[b2i(down)] = false
		}
	}
}

// ticker ticks every interval seconds; a zero interval never ticks.
func (g *group) ticker(interval int) (<-chan time.Time, func()) {
	if interval <= 0 {
		return nil, func() {}
	}
	d := time.Duration(math.MaxInt64) // an interval too long to count is forever
	if int64(interval) < math.MaxInt64/int64(g.m.unit) {
		d = time.Duration(interval) * g.m.unit
	}
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// targetsWhere lists the targets that are down (or not), for a round.
func (g *group) targetsWhere(down bool) []*target {
	g.mu.Lock()
	defer g.mu.Unlock()
	var list []*target
	for _, t := range g.targets {
		if t.state().Down() == down {
			list = append(list, t)
		}
	}
	slices.SortFunc(list, func(a, b *target) int { return strings.Compare(a.key, b.key) })
	return list
}

// publish reports state changes and stores new Down sets. Events are
// emitted after g.mu is released, so a listener may call Status.
func (g *group) publish() {
	var changes []StateChange
	var downs []DownChange
	g.mu.Lock()
	for _, t := range g.targets {
		if s := t.state(); s != t.seen {
			changes = append(changes, StateChange{Owner: g.owner, Target: t.addr, Hostname: t.hostname, From: t.seen, To: s})
			t.seen = s
		}
	}
	for _, c := range g.checkers {
		if c.publishLocked() {
			downs = append(downs, DownChange{Owner: g.owner, Nodes: c.nodes, Down: c.downList()})
		}
	}
	g.mu.Unlock()
	ev := &g.m.o.Events
	if ev.StateChanged != nil {
		slices.SortFunc(changes, func(a, b StateChange) int { return strings.Compare(a.Target, b.Target) })
		for _, c := range changes {
			ev.StateChanged(c)
		}
	}
	if ev.DownChanged != nil {
		for _, d := range downs {
			ev.DownChanged(d)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

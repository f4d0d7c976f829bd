package health

import (
	"slices"
	"strings"
)

// Status is one checker as APISIX's control API shows it
// (GET /v1/healthcheck): fields and JSON names of apisix/control/v1.lua and
// lua-resty-healthcheck's get_target_list, in the order APISIX's stable
// encoder writes them.
type Status struct {
	// Name is the object's key; Status sets "/" + owner, and the control
	// API replaces it with the stored key ("/apisix/upstreams/1").
	Name  string       `json:"name"`
	Nodes []NodeStatus `json:"nodes"`
	// Type is checks.active.type.
	Type string `json:"type"`
	// Owner is what Acquire was given ("upstreams/1").
	Owner string `json:"-"`
}

// NodeStatus is one target of a checker.
type NodeStatus struct {
	Counter    Counters `json:"counter"`
	HostHeader string   `json:"hostheader,omitempty"`
	Hostname   string   `json:"hostname"`
	IP         string   `json:"ip"`
	Port       int      `json:"port"`
	// Status is healthy, unhealthy, mostly_healthy or mostly_unhealthy.
	Status string `json:"status"`
}

// Counters are a target's counters: consecutive successes, and failures of
// each kind since the last success.
type Counters struct {
	HTTPFailure    int `json:"http_failure"`
	Success        int `json:"success"`
	TCPFailure     int `json:"tcp_failure"`
	TimeoutFailure int `json:"timeout_failure"`
}

// Status returns every owner's current checker (the one acquired last),
// sorted by owner: routes, then services, then upstreams, as APISIX lists
// them. Safe from any goroutine.
func (m *Manager) Status() []Status {
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	owners := make([]string, 0, len(m.owners))
	for o := range m.owners {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	out := make([]Status, 0, len(owners))
	for _, o := range owners {
		if s, ok := m.statusLocked(o); ok {
			out = append(out, s)
		}
	}
	return out
}

// StatusOf returns owner's current checker, if it has one.
func (m *Manager) StatusOf(owner string) (Status, bool) {
	if m == nil {
		return Status{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statusLocked(owner)
}

func (m *Manager) statusLocked(owner string) (Status, bool) {
	gs := m.owners[owner]
	if len(gs) == 0 {
		return Status{}, false
	}
	g := gs[len(gs)-1]
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.checkers) == 0 {
		return Status{}, false
	}
	c := g.checkers[len(g.checkers)-1]
	s := Status{Name: "/" + strings.TrimPrefix(owner, "/"), Type: g.checks.TypeName(), Owner: owner, Nodes: make([]NodeStatus, len(c.unique))}
	for i, t := range c.unique {
		st, ctr := t.snapshot()
		s.Nodes[i] = NodeStatus{Counter: ctr, HostHeader: t.hostHeader, Hostname: t.hostname, IP: t.ip, Port: t.port, Status: st.String()}
	}
	return s, true
}

package health_test

import "testing"

// A node configured by host name and resolved by the builder is probed at
// its address and named by its host name, as APISIX shows domain nodes.
func TestResolvedNodesKeepTheirName(t *testing.T) {
	m := quietManager(t)
	u := upstream(t, `{"active": {}}`, "127.0.0.1:1980", "127.0.0.2:1981")
	c := m.AcquireNamed("upstreams/1", u, []string{"127.0.0.1:1980", "127.0.0.2:1981"}, []string{"api.internal", ""})
	defer m.Release(c)
	s, ok := m.StatusOf("upstreams/1")
	if !ok || len(s.Nodes) != 2 {
		t.Fatalf("%+v", s)
	}
	if n := s.Nodes[0]; n.IP != "127.0.0.1" || n.Hostname != "api.internal" || n.HostHeader != "api.internal" {
		t.Errorf("named node %+v", n)
	}
	if n := s.Nodes[1]; n.IP != "127.0.0.2" || n.Hostname != "127.0.0.2" || n.HostHeader != "" {
		t.Errorf("address node %+v", n)
	}
}

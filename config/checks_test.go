package config

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func decodeChecks(t *testing.T, raw string) *Checks {
	t.Helper()
	obj, err := Upstreams.Decode("1", []byte(`{"nodes": {"127.0.0.1:80": 1}, "checks": `+raw+`}`))
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	c := obj.(*Upstream).Checks
	if c == nil {
		t.Fatalf("%s: no checks decoded", raw)
	}
	return c
}

func TestChecksDefaults(t *testing.T) {
	c := decodeChecks(t, `{"active": {}}`)
	want := DefaultChecks()
	want.compile()
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("decoded %+v\nwant %+v", *c, want)
	}
	a, p := &c.Active, &c.Passive
	switch {
	case a.Kind != CheckHTTP || a.Timeout.Duration() != time.Second || a.Concurrency != 10 || a.HTTPMethod != "GET" ||
		a.HTTPPath != "/" || !a.HTTPSVerifyCertificate:
		t.Errorf("active: %+v", a)
	case a.Healthy.Interval != 1 || a.Healthy.Successes != 2 || !slices.Equal(a.Healthy.HTTPStatuses, []int{200, 302}):
		t.Errorf("active.healthy: %+v", a.Healthy)
	case a.Unhealthy.Interval != 1 || a.Unhealthy.HTTPFailures != 5 || a.Unhealthy.TCPFailures != 2 || a.Unhealthy.Timeouts != 3:
		t.Errorf("active.unhealthy: %+v", a.Unhealthy)
	case c.PassiveSet:
		t.Error("passive reported as configured")
	case p.Healthy.Successes != 5 || p.Unhealthy.HTTPFailures != 5 || p.Unhealthy.TCPFailures != 2 || p.Unhealthy.Timeouts != 7:
		t.Errorf("passive: %+v", p)
	}
	for code, want := range map[int]bool{200: true, 302: true, 301: false, 0: false, -1: false, 700: false} {
		if a.Healthy.Statuses.Has(code) != want {
			t.Errorf("active healthy %d: %v", code, !want)
		}
	}
	for _, code := range []int{429, 404, 500, 501, 502, 503, 504, 505} {
		if !a.Unhealthy.Statuses.Has(code) {
			t.Errorf("active unhealthy lacks %d", code)
		}
	}
	for code, want := range map[int]bool{208: true, 226: true, 308: true, 209: false, 404: false} {
		if p.Healthy.Statuses.Has(code) != want {
			t.Errorf("passive healthy %d: %v", code, !want)
		}
	}
}

func TestChecksOverrides(t *testing.T) {
	c := decodeChecks(t, `{
		"active": {"type": "https", "timeout": 0.25, "http_path": "/status", "host": "foo.com", "port": 8443,
			"https_verify_certificate": false, "req_headers": ["User-Agent: probe"],
			"healthy": {"interval": 3, "http_statuses": [204]},
			"unhealthy": {"tcp_failures": 1}},
		"passive": {"healthy": {"successes": 0}, "unhealthy": {"http_statuses": [502], "timeouts": 0}}}`)
	a, p := &c.Active, &c.Passive
	if a.Kind != CheckHTTPS || a.Timeout.Duration() != 250*time.Millisecond || a.HTTPPath != "/status" ||
		a.Host != "foo.com" || a.Port != 8443 || a.HTTPSVerifyCertificate || a.ReqHeaders[0] != "User-Agent: probe" {
		t.Errorf("active: %+v", a)
	}
	if a.Healthy.Interval != 3 || a.Healthy.Successes != 2 || !a.Healthy.Statuses.Has(204) || a.Healthy.Statuses.Has(200) {
		t.Errorf("active.healthy: %+v", a.Healthy)
	}
	if a.Unhealthy.TCPFailures != 1 || a.Unhealthy.HTTPFailures != 5 || !a.Unhealthy.Statuses.Has(404) {
		t.Errorf("active.unhealthy: %+v", a.Unhealthy)
	}
	// An explicit 0 disables a passive counter; it is not a missing value.
	if !c.PassiveSet || p.Healthy.Successes != 0 || p.Unhealthy.Timeouts != 0 || p.Unhealthy.TCPFailures != 2 ||
		!p.Unhealthy.Statuses.Has(502) || p.Unhealthy.Statuses.Has(500) || !p.Healthy.Statuses.Has(200) {
		t.Errorf("passive: %+v", p)
	}
	// Defaults are never shared between decoded upstreams.
	c2 := decodeChecks(t, `{"active": {"healthy": {"http_statuses": [201]}}}`)
	c2.Active.Unhealthy.HTTPStatuses[0] = 1
	if d := DefaultChecks(); d.Active.Unhealthy.HTTPStatuses[0] != 429 {
		t.Fatal("decoding aliased the default status list")
	}
}

func TestChecksSchema(t *testing.T) {
	for _, raw := range []string{
		`{}`,
		`{"passive": {}}`,
		`{"active": {"healthy": {"interval": 0.5}}}`,
		`{"active": {"type": "udp"}}`,
		`{"active": {"healthy": {"successes": 255}}}`,
	} {
		if _, err := Upstreams.Decode("1", []byte(`{"nodes": {"127.0.0.1:80": 1}, "checks": `+raw+`}`)); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}

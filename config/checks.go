package config

import (
	"bytes"
	"encoding/json"
	"time"
)

// CheckType is the protocol of an upstream's active probes.
type CheckType uint8

// Active check types (checks.active.type).
const (
	CheckHTTP CheckType = iota
	CheckHTTPS
	CheckTCP
)

var checkTypeNames = [...]string{"http", "https", "tcp"}

func (t CheckType) String() string { return checkTypeNames[t] }

// Health-check defaults: APISIX's upstream schema (apisix/schema_def.lua,
// health_checker_active and health_checker_passive). Intervals are whole
// seconds, as the schema has them.
const (
	DefaultCheckTimeout     = time.Second
	DefaultCheckConcurrency = 10
	DefaultCheckInterval    = 1

	DefaultActiveSuccesses    = 2
	DefaultActiveHTTPFailures = 5
	DefaultActiveTCPFailures  = 2
	DefaultActiveTimeouts     = 3

	DefaultPassiveSuccesses    = 5
	DefaultPassiveHTTPFailures = 5
	DefaultPassiveTCPFailures  = 2
	DefaultPassiveTimeouts     = 7
)

// Default status lists, in APISIX's order.
var (
	defaultActiveHealthy    = []int{200, 302}
	defaultActiveUnhealthy  = []int{429, 404, 500, 501, 502, 503, 504, 505}
	defaultPassiveHealthy   = []int{200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 306, 307, 308}
	defaultPassiveUnhealthy = []int{429, 500, 503}
)

// Checks is an upstream's health checks (its checks field): active probes
// and passive counting of real traffic, as lua-resty-healthcheck runs them
// for APISIX. Decoding fills every absent field with APISIX's default and
// compiles the status lists, so a checker reads ready values and parses
// nothing per probe or per report.
type Checks struct {
	Active  ActiveCheck  `json:"active"`
	Passive PassiveCheck `json:"passive"`
	// PassiveSet reports that passive was configured. Without it APISIX
	// counts no response statuses, only the TCP failures and timeouts of
	// real traffic, against the passive defaults (lua-resty-healthcheck
	// fills them in whatever the config says).
	PassiveSet bool `json:"-"`
}

// ActiveCheck is checks.active.
type ActiveCheck struct {
	// Type is "http" (default), "https" or "tcp"; Kind is its decoded form.
	Type string    `json:"type"`
	Kind CheckType `json:"-"`
	// Timeout bounds each step of a probe (connect, TLS handshake, send,
	// receive the status line). Default 1 s; zero or negative means the
	// default.
	Timeout Seconds `json:"timeout"`
	// Concurrency is how many targets are probed at once (default 10;
	// below 1 means 1).
	Concurrency int `json:"concurrency"`
	// Host names the target (status "hostname") and is the Host header
	// and TLS server name of probes, unless pass_host rewrite or a domain
	// node says otherwise. Empty: the node's host.
	Host string `json:"host,omitempty"`
	// Port, when non-zero, is probed instead of each node's port.
	Port int `json:"port,omitempty"`
	// HTTPMethod is GET (default), HEAD or POST; HTTPReqBody goes with it.
	HTTPMethod  string `json:"http_method"`
	HTTPPath    string `json:"http_path"`
	HTTPReqBody string `json:"http_req_body"`
	// HTTPSVerifyCertificate: https probes verify the node's certificate
	// (default true).
	HTTPSVerifyCertificate bool `json:"https_verify_certificate"`
	// ReqHeaders are extra request header lines, "Name: value".
	ReqHeaders []string        `json:"req_headers,omitempty"`
	Healthy    ActiveHealthy   `json:"healthy"`
	Unhealthy  ActiveUnhealthy `json:"unhealthy"`
}

// ActiveHealthy is checks.active.healthy.
type ActiveHealthy struct {
	// Interval is the seconds between probes of healthy targets (default
	// 1; 0 stops them).
	Interval     int   `json:"interval"`
	HTTPStatuses []int `json:"http_statuses"`
	// Successes is how many successes make a target healthy (default 2).
	Successes int `json:"successes"`
	// Statuses is HTTPStatuses as a set.
	Statuses StatusSet `json:"-"`
}

// ActiveUnhealthy is checks.active.unhealthy. A threshold of 0 disables
// that kind of failure (lua-resty-healthcheck).
type ActiveUnhealthy struct {
	// Interval is the seconds between probes of unhealthy targets
	// (default 1; 0 stops them).
	Interval     int   `json:"interval"`
	HTTPStatuses []int `json:"http_statuses"`
	HTTPFailures int   `json:"http_failures"`
	TCPFailures  int   `json:"tcp_failures"`
	Timeouts     int   `json:"timeouts"`
	// Statuses is HTTPStatuses as a set.
	Statuses StatusSet `json:"-"`
}

// PassiveCheck is checks.passive.
type PassiveCheck struct {
	// Type is "http" (default), "https" or "tcp"; for passive checks it
	// only names the checker in the control API.
	Type      string           `json:"type"`
	Healthy   PassiveHealthy   `json:"healthy"`
	Unhealthy PassiveUnhealthy `json:"unhealthy"`
}

// PassiveHealthy is checks.passive.healthy.
type PassiveHealthy struct {
	HTTPStatuses []int `json:"http_statuses"`
	// Successes is how many successful responses make a target healthy
	// (default 5; 0 disables).
	Successes int `json:"successes"`
	// Statuses is HTTPStatuses as a set.
	Statuses StatusSet `json:"-"`
}

// PassiveUnhealthy is checks.passive.unhealthy; a threshold of 0 disables
// that kind of failure.
type PassiveUnhealthy struct {
	HTTPStatuses []int `json:"http_statuses"`
	HTTPFailures int   `json:"http_failures"`
	TCPFailures  int   `json:"tcp_failures"`
	Timeouts     int   `json:"timeouts"`
	// Statuses is HTTPStatuses as a set.
	Statuses StatusSet `json:"-"`
}

// StatusSet is a set of HTTP status codes (0-639), a lookup table so a
// report tests membership with a shift and a mask.
type StatusSet [10]uint64

// NewStatusSet returns the set of codes; codes outside 0-639 are dropped
// (the schema allows 200-599).
func NewStatusSet(codes []int) StatusSet {
	var s StatusSet
	for _, c := range codes {
		if c >= 0 && c < 640 {
			s[c>>6] |= 1 << (c & 63)
		}
	}
	return s
}

// Has reports whether code is in the set.
func (s *StatusSet) Has(code int) bool {
	return uint(code) < 640 && s[code>>6]&(1<<(code&63)) != 0
}

// DefaultChecks returns checks with every field at APISIX's default and
// passive unset. Each call returns fresh slices.
func DefaultChecks() Checks {
	return Checks{
		Active: ActiveCheck{
			Type:                   "http",
			Timeout:                Seconds(DefaultCheckTimeout),
			Concurrency:            DefaultCheckConcurrency,
			HTTPMethod:             "GET",
			HTTPPath:               "/",
			HTTPSVerifyCertificate: true,
			Healthy: ActiveHealthy{
				Interval:     DefaultCheckInterval,
				HTTPStatuses: clone(defaultActiveHealthy),
				Successes:    DefaultActiveSuccesses,
			},
			Unhealthy: ActiveUnhealthy{
				Interval:     DefaultCheckInterval,
				HTTPStatuses: clone(defaultActiveUnhealthy),
				HTTPFailures: DefaultActiveHTTPFailures,
				TCPFailures:  DefaultActiveTCPFailures,
				Timeouts:     DefaultActiveTimeouts,
			},
		},
		Passive: PassiveCheck{
			Type: "http",
			Healthy: PassiveHealthy{
				HTTPStatuses: clone(defaultPassiveHealthy),
				Successes:    DefaultPassiveSuccesses,
			},
			Unhealthy: PassiveUnhealthy{
				HTTPStatuses: clone(defaultPassiveUnhealthy),
				HTTPFailures: DefaultPassiveHTTPFailures,
				TCPFailures:  DefaultPassiveTCPFailures,
				Timeouts:     DefaultPassiveTimeouts,
			},
		},
	}
}

// UnmarshalJSON decodes checks over DefaultChecks, so absent fields keep
// their defaults, then compiles them. The upstream schema has already
// checked types and ranges.
func (c *Checks) UnmarshalJSON(b []byte) error {
	var raw struct {
		Active  json.RawMessage `json:"active"`
		Passive json.RawMessage `json:"passive"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return invalidf("invalid checks: %v", err)
	}
	d := DefaultChecks()
	if present(raw.Active) {
		// A list given replaces the default rather than overwriting it
		// in place.
		d.Active.Healthy.HTTPStatuses, d.Active.Unhealthy.HTTPStatuses = nil, nil
		if err := json.Unmarshal(raw.Active, &d.Active); err != nil {
			return invalidf("invalid checks.active: %v", err)
		}
		d.Active.Healthy.HTTPStatuses = orDefault(d.Active.Healthy.HTTPStatuses, defaultActiveHealthy)
		d.Active.Unhealthy.HTTPStatuses = orDefault(d.Active.Unhealthy.HTTPStatuses, defaultActiveUnhealthy)
	}
	if present(raw.Passive) {
		d.PassiveSet = true
		d.Passive.Healthy.HTTPStatuses, d.Passive.Unhealthy.HTTPStatuses = nil, nil
		if err := json.Unmarshal(raw.Passive, &d.Passive); err != nil {
			return invalidf("invalid checks.passive: %v", err)
		}
		d.Passive.Healthy.HTTPStatuses = orDefault(d.Passive.Healthy.HTTPStatuses, defaultPassiveHealthy)
		d.Passive.Unhealthy.HTTPStatuses = orDefault(d.Passive.Unhealthy.HTTPStatuses, defaultPassiveUnhealthy)
	}
	d.compile()
	*c = d
	return nil
}

// compile fills the decoded forms and clamps what the schema leaves open.
func (c *Checks) compile() {
	a := &c.Active
	switch a.Type {
	case "https":
		a.Kind = CheckHTTPS
	case "tcp":
		a.Kind = CheckTCP
	default:
		a.Type, a.Kind = "http", CheckHTTP
	}
	if a.Timeout <= 0 {
		a.Timeout = Seconds(DefaultCheckTimeout)
	}
	a.Concurrency = max(a.Concurrency, 1)
	if a.HTTPMethod == "" {
		a.HTTPMethod = "GET"
	}
	if a.HTTPPath == "" {
		a.HTTPPath = "/"
	}
	a.Healthy.Statuses = NewStatusSet(a.Healthy.HTTPStatuses)
	a.Unhealthy.Statuses = NewStatusSet(a.Unhealthy.HTTPStatuses)
	p := &c.Passive
	p.Healthy.Statuses = NewStatusSet(p.Healthy.HTTPStatuses)
	p.Unhealthy.Statuses = NewStatusSet(p.Unhealthy.HTTPStatuses)
}

// TypeName is the checker type the control API shows: the active type
// (APISIX's get_checker_type).
func (c *Checks) TypeName() string { return c.Active.Type }

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

func orDefault(v, def []int) []int {
	if v == nil {
		return clone(def)
	}
	return v
}

func clone(v []int) []int { return append([]int(nil), v...) }

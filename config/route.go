package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/httpmethod"
)

// Route is an APISIX route object.
type Route struct {
	ID              ID                `json:"id,omitzero"`
	Name            string            `json:"name,omitempty"`
	Desc            string            `json:"desc,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	URI             string            `json:"uri,omitempty"`
	URIs            []string          `json:"uris,omitempty"`
	Methods         []string          `json:"methods,omitempty"`
	Host            string            `json:"host,omitempty"`
	HostList        []string          `json:"hosts,omitempty"`
	RemoteAddr      string            `json:"remote_addr,omitempty"`
	RemoteAddrList  []string          `json:"remote_addrs,omitempty"`
	Vars            json.RawMessage   `json:"vars,omitempty"`
	FilterFunc      string            `json:"filter_func,omitempty"`
	Priority        int               `json:"priority,omitempty"`
	Plugins         Plugins           `json:"plugins,omitempty"`
	PluginConfigID  ID                `json:"plugin_config_id,omitzero"`
	ServiceID       ID                `json:"service_id,omitzero"`
	UpstreamID      ID                `json:"upstream_id,omitzero"`
	Upstream        *Upstream         `json:"upstream,omitempty"`
	Timeout         *Timeout          `json:"timeout,omitempty"`
	EnableWebsocket *bool             `json:"enable_websocket,omitempty"`
	Status          *int              `json:"status,omitempty"`
	Script          string            `json:"script,omitempty"`
	ScriptID        ID                `json:"script_id,omitzero"`
	ServiceProtocol string            `json:"service_protocol,omitempty"`
	CreateTime      int64             `json:"create_time,omitempty"`
	UpdateTime      int64             `json:"update_time,omitempty"`

	// Decoded forms, set by Normalize.
	Paths       []string       `json:"-"` // uri or uris
	Hosts       []string       `json:"-"` // host or hosts, lower-cased
	RemoteAddrs []netip.Prefix `json:"-"` // remote_addr or remote_addrs
	MethodSet   httpmethod.Set `json:"-"` // zero: any method
	VarsExpr    *expr.Expr     `json:"-"` // vars, compiled; nil: no condition
}

// Enabled reports whether the route is routable (status absent or 1).
func (r *Route) Enabled() bool { return r.Status == nil || *r.Status == 1 }

// ObjectID implements Object.
func (r *Route) ObjectID() string { return r.ID.S }

// Normalize fills r's decoded fields and checks what the schema cannot
// express. It assumes Routes.Schema has accepted the object.
func (r *Route) Normalize() error {
	r.Paths = r.URIs
	if r.URI != "" {
		r.Paths = []string{r.URI}
	}
	ms, err := parseMethods(r.Methods)
	if err != nil {
		return err
	}
	r.MethodSet = ms
	hosts := r.HostList
	if r.Host != "" {
		hosts = []string{r.Host}
	}
	r.Hosts = nil
	for _, h := range hosts {
		r.Hosts = append(r.Hosts, strings.ToLower(h))
	}
	addrs := r.RemoteAddrList
	if r.RemoteAddr != "" {
		addrs = []string{r.RemoteAddr}
	}
	r.RemoteAddrs = nil
	for _, a := range addrs {
		p, err := ParsePrefix(a)
		if err != nil {
			return err
		}
		r.RemoteAddrs = append(r.RemoteAddrs, p)
	}
	ve, err := expr.Compile(r.Vars)
	if err != nil {
		return invalidf("failed to validate the 'vars' expression: %w", err)
	}
	r.VarsExpr = ve
	if r.Upstream != nil {
		if err := r.Upstream.Normalize(); err != nil {
			return err
		}
	}
	return nil
}

// parseMethods turns a route's method names into the set the router
// matches; an empty list means "any" and yields the zero set.
func parseMethods(names []string) (httpmethod.Set, error) {
	var s httpmethod.Set
	for _, n := range names {
		m, ok := httpmethod.Parse(n)
		if !ok {
			return 0, fmt.Errorf("%w: method %q is not one of GET POST PUT DELETE PATCH HEAD OPTIONS CONNECT TRACE PURGE", ErrInvalid, n)
		}
		s |= m.Bit()
	}
	return s, nil
}

// ParsePrefix parses an IP or CIDR as APISIX's ip_def accepts; a bare
// address becomes a full-length prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	p, ok := expr.ParsePrefix(s)
	if !ok {
		return netip.Prefix{}, fmt.Errorf("%w: invalid IP or CIDR %q", ErrInvalid, s)
	}
	return p, nil
}

package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"

	"github.com/sluicegw/sluice/expr"
)

// Route is an APISIX route object.
type Route struct {
	ID              ID                         `json:"id,omitzero"`
	Name            string                     `json:"name,omitempty"`
	Desc            string                     `json:"desc,omitempty"`
	Labels          map[string]string          `json:"labels,omitempty"`
	URI             string                     `json:"uri,omitempty"`
	URIs            []string                   `json:"uris,omitempty"`
	Methods         []string                   `json:"methods,omitempty"`
	Host            string                     `json:"host,omitempty"`
	HostList        []string                   `json:"hosts,omitempty"`
	RemoteAddr      string                     `json:"remote_addr,omitempty"`
	RemoteAddrList  []string                   `json:"remote_addrs,omitempty"`
	Vars            json.RawMessage            `json:"vars,omitempty"`
	FilterFunc      string                     `json:"filter_func,omitempty"`
	Priority        int                        `json:"priority,omitempty"`
	Plugins         map[string]json.RawMessage `json:"plugins,omitempty"`
	PluginConfigID  ID                         `json:"plugin_config_id,omitzero"`
	ServiceID       ID                         `json:"service_id,omitzero"`
	UpstreamID      ID                         `json:"upstream_id,omitzero"`
	Upstream        *Upstream                  `json:"upstream,omitempty"`
	Timeout         *Timeout                   `json:"timeout,omitempty"`
	EnableWebsocket *bool                      `json:"enable_websocket,omitempty"`
	Status          *int                       `json:"status,omitempty"`
	Script          string                     `json:"script,omitempty"`
	ScriptID        ID                         `json:"script_id,omitzero"`
	ServiceProtocol string                     `json:"service_protocol,omitempty"`
	CreateTime      int64                      `json:"create_time,omitempty"`
	UpdateTime      int64                      `json:"update_time,omitempty"`

	// Decoded forms, set by Normalize.
	Paths       []string       `json:"-"` // uri or uris
	Hosts       []string       `json:"-"` // host or hosts, lower-cased
	RemoteAddrs []netip.Prefix `json:"-"` // remote_addr or remote_addrs
	MethodSet   MethodSet      `json:"-"` // zero: any method
	VarsExpr    *expr.Expr     `json:"-"` // vars, compiled; nil: no condition
}

// Enabled reports whether the route is routable (status absent or 1).
func (r *Route) Enabled() bool { return r.Status == nil || *r.Status == 1 }

// DecodeRoute parses and validates one route's JSON. Unknown fields are
// rejected (APISIX's schema has additionalProperties: false).
func DecodeRoute(b []byte) (*Route, error) {
	var r Route
	if err := decodeStrict(b, &r); err != nil {
		return nil, err
	}
	if err := r.Normalize(); err != nil {
		return nil, err
	}
	return &r, nil
}

// DecodeUpstream parses and validates one upstream's JSON.
func DecodeUpstream(b []byte) (*Upstream, error) {
	var u Upstream
	if err := decodeStrict(b, &u); err != nil {
		return nil, err
	}
	if err := u.Normalize(); err != nil {
		return nil, err
	}
	return &u, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data after the object", ErrInvalid)
	}
	return nil
}

// Normalize validates r and fills its decoded fields.
func (r *Route) Normalize() error {
	switch {
	case r.URI != "" && len(r.URIs) > 0:
		return fmt.Errorf("%w: only one of uri or uris is allowed", ErrInvalid)
	case r.URI != "":
		if len(r.URI) > 4096 {
			return fmt.Errorf("%w: uri is longer than 4096", ErrInvalid)
		}
		r.Paths = []string{r.URI}
	case len(r.URIs) > 0:
		r.Paths = r.URIs
	default:
		return fmt.Errorf("%w: object matches none of the required: uri or uris", ErrInvalid)
	}
	for _, p := range r.Paths {
		if p == "" {
			return fmt.Errorf("%w: uri must not be empty", ErrInvalid)
		}
	}
	if r.Upstream == nil && r.UpstreamID.IsZero() && r.ServiceID.IsZero() && r.Plugins == nil && r.Script == "" {
		return fmt.Errorf("%w: object matches none of the required: plugins, upstream, upstream_id, service_id or script", ErrInvalid)
	}
	ms, err := ParseMethods(r.Methods)
	if err != nil {
		return err
	}
	r.MethodSet = ms
	if r.Host != "" && len(r.HostList) > 0 {
		return fmt.Errorf("%w: only one of host or hosts is allowed", ErrInvalid)
	}
	hosts := r.HostList
	if r.Host != "" {
		hosts = []string{r.Host}
	}
	r.Hosts = nil
	for _, h := range hosts {
		if !hostPattern.MatchString(h) {
			return fmt.Errorf("%w: host %q does not match ^\\*?[0-9a-zA-Z-._\\[\\]:]+$", ErrInvalid, h)
		}
		r.Hosts = append(r.Hosts, strings.ToLower(h))
	}
	if r.RemoteAddr != "" && len(r.RemoteAddrList) > 0 {
		return fmt.Errorf("%w: only one of remote_addr or remote_addrs is allowed", ErrInvalid)
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
		return fmt.Errorf("%w: failed to validate the 'vars' expression: %w", ErrInvalid, err)
	}
	r.VarsExpr = ve
	if r.FilterFunc != "" && (len(r.FilterFunc) < 10 || !strings.HasPrefix(r.FilterFunc, "function")) {
		return fmt.Errorf("%w: property \"filter_func\" validation failed: failed to match pattern \"^function\" with \"%s\"", ErrInvalid, r.FilterFunc)
	}
	if r.Status != nil && *r.Status != 0 && *r.Status != 1 {
		return fmt.Errorf("%w: status must be 0 or 1", ErrInvalid)
	}
	if r.Timeout != nil {
		if err := r.Timeout.validate(); err != nil {
			return err
		}
	}
	if r.Upstream != nil {
		if err := r.Upstream.Normalize(); err != nil {
			return err
		}
	}
	return nil
}

// ParsePrefix parses an IP or CIDR as APISIX's ip_def accepts; a bare
// address becomes a full-length prefix.
func ParsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%w: invalid IP/CIDR %q", ErrInvalid, s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: invalid IP %q", ErrInvalid, s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Local is a node's local configuration: APISIX's conf/config.yaml, the keys
// sluice understands. Unknown keys are ignored, so an APISIX config.yaml
// works as is.
type Local struct {
	APISIX struct {
		NodeListen         listenList `json:"node_listen"`
		EnableServerTokens *bool      `json:"enable_server_tokens"`
		TrustedAddresses   []string   `json:"trusted_addresses"`
		Router             struct {
			HTTP string `json:"http"`
		} `json:"router"`
	} `json:"apisix"`
	Deployment struct {
		Role          string `json:"role"`
		RoleDataPlane struct {
			ConfigProvider string `json:"config_provider"`
		} `json:"role_data_plane"`
	} `json:"deployment"`
	NginxConfig struct {
		HTTP struct {
			KeepaliveTimeout    nginxDuration `json:"keepalive_timeout"`
			ClientHeaderTimeout nginxDuration `json:"client_header_timeout"`
			ClientBodyTimeout   nginxDuration `json:"client_body_timeout"`
			SendTimeout         nginxDuration `json:"send_timeout"`
			ClientMaxBodySize   nginxSize     `json:"client_max_body_size"`
			Upstream            struct {
				Keepalive         int           `json:"keepalive"`
				KeepaliveRequests int           `json:"keepalive_requests"`
				KeepaliveTimeout  nginxDuration `json:"keepalive_timeout"`
			} `json:"upstream"`
		} `json:"http"`
	} `json:"nginx_config"`
	// Sluice holds settings APISIX has no equivalent for.
	Sluice struct {
		Loops         int           `json:"loops"`
		ShutdownGrace nginxDuration `json:"shutdown_grace"`
		HighWater     nginxSize     `json:"high_water"`
	} `json:"sluice"`

	// Dir is the directory config.yaml was read from; apisix.yaml is
	// looked up beside it.
	Dir string `json:"-"`
	// Listen is node_listen resolved to "ip:port" addresses.
	Listen []string `json:"-"`
	// Trusted is trusted_addresses parsed.
	Trusted []netip.Prefix `json:"-"`
}

// Roles and providers.
const (
	RoleTraditional  = "traditional"
	RoleDataPlane    = "data_plane"
	RoleControlPlane = "control_plane"
	ProviderYAML     = "yaml"
	ProviderEtcd     = "etcd"
	DefaultNodePort  = 9080
)

// StandaloneFile returns the path of the standalone apisix.yaml: beside
// config.yaml, as APISIX keeps both in conf/.
func (n *Local) StandaloneFile() string { return filepath.Join(n.Dir, "apisix.yaml") }

// ServerTokens reports enable_server_tokens (default true).
func (n *Local) ServerTokens() bool {
	return n.APISIX.EnableServerTokens == nil || *n.APISIX.EnableServerTokens
}

// LoadLocal reads config.yaml at path and applies defaults.
func LoadLocal(path string) (*Local, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: reading %s: %w", path, err)
	}
	n, err := ParseLocal(data)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	n.Dir = filepath.Dir(path)
	return n, nil
}

// ParseLocal decodes config.yaml content and applies defaults.
func ParseLocal(data []byte) (*Local, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	n := &Local{}
	if string(js) != "null" {
		if err := json.Unmarshal(js, n); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	if err := n.normalize(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Local) normalize() error {
	if len(n.APISIX.NodeListen) == 0 {
		n.APISIX.NodeListen = listenList{{IP: "0.0.0.0", Port: DefaultNodePort}}
	}
	n.Listen = nil
	for _, l := range n.APISIX.NodeListen {
		ip := l.IP
		if ip == "" {
			ip = "0.0.0.0"
		}
		a, err := netip.ParseAddr(ip)
		if err != nil || l.Port < 1 || l.Port > 65535 {
			return fmt.Errorf("%w: apisix.node_listen: bad address %q port %d", ErrInvalid, l.IP, l.Port)
		}
		n.Listen = append(n.Listen, netip.AddrPortFrom(a, uint16(l.Port)).String())
	}
	n.Trusted = nil
	for _, t := range n.APISIX.TrustedAddresses {
		p, err := ParsePrefix(t)
		if err != nil {
			return fmt.Errorf("apisix.trusted_addresses: %w", err)
		}
		n.Trusted = append(n.Trusted, p)
	}
	switch n.APISIX.Router.HTTP {
	case "", "radixtree_host_uri", "radixtree_uri", "radixtree_uri_with_parameter":
	default:
		return fmt.Errorf("%w: apisix.router.http %q is not one of radixtree_host_uri, radixtree_uri, radixtree_uri_with_parameter", ErrInvalid, n.APISIX.Router.HTTP)
	}
	if n.Deployment.Role == "" {
		n.Deployment.Role = RoleTraditional
	}
	switch n.Deployment.Role {
	case RoleTraditional, RoleDataPlane, RoleControlPlane:
	default:
		return fmt.Errorf("%w: deployment.role %q is not one of traditional, data_plane, control_plane", ErrInvalid, n.Deployment.Role)
	}
	switch n.Deployment.RoleDataPlane.ConfigProvider {
	case "", ProviderYAML, ProviderEtcd:
	default:
		return fmt.Errorf("%w: deployment.role_data_plane.config_provider %q is not one of yaml, etcd", ErrInvalid, n.Deployment.RoleDataPlane.ConfigProvider)
	}
	return nil
}

// listenAddr is one node_listen entry: a bare port, or {ip, port}.
type listenAddr struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
}

type listenList []listenAddr

// UnmarshalJSON accepts a port, a list of ports, or a list of {ip, port}.
func (l *listenList) UnmarshalJSON(b []byte) error {
	var port int
	if json.Unmarshal(b, &port) == nil {
		*l = listenList{{Port: port}}
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return fmt.Errorf("%w: apisix.node_listen must be a port or a list", ErrInvalid)
	}
	out := make(listenList, 0, len(items))
	for _, it := range items {
		if json.Unmarshal(it, &port) == nil {
			out = append(out, listenAddr{Port: port})
			continue
		}
		var a listenAddr
		if err := json.Unmarshal(it, &a); err != nil {
			return fmt.Errorf("%w: apisix.node_listen entry %s", ErrInvalid, it)
		}
		out = append(out, a)
	}
	*l = out
	return nil
}

// nginxDuration is an nginx time value: "60s", "500ms", "1m", "1h", "1d" or
// a bare number of seconds. Zero means unset.
type nginxDuration time.Duration

// Duration returns the value as a time.Duration.
func (d nginxDuration) Duration() time.Duration { return time.Duration(d) }

func (d *nginxDuration) UnmarshalJSON(b []byte) error {
	var f float64
	if json.Unmarshal(b, &f) == nil {
		*d = nginxDuration(f * float64(time.Second))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: bad duration %s", ErrInvalid, b)
	}
	v, err := parseNginxDuration(s)
	if err != nil {
		return err
	}
	*d = nginxDuration(v)
	return nil
}

func parseNginxDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseFloat(num, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%w: bad duration %q", ErrInvalid, s)
			}
			return time.Duration(n * float64(u.unit)), nil
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad duration %q", ErrInvalid, s)
	}
	return time.Duration(n * float64(time.Second)), nil
}

// nginxSize is an nginx size: bytes, or with a k/m/g suffix.
type nginxSize int64

func (z *nginxSize) UnmarshalJSON(b []byte) error {
	var n int64
	if json.Unmarshal(b, &n) == nil {
		*z = nginxSize(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s == "" {
		return fmt.Errorf("%w: bad size %s", ErrInvalid, b)
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult, s = 1<<10, s[:len(s)-1]
	case "m":
		mult, s = 1<<20, s[:len(s)-1]
	case "g":
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: bad size %q", ErrInvalid, s)
	}
	*z = nginxSize(n * mult)
	return nil
}

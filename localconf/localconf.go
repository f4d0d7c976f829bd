package localconf

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sluicegw/sluice/config"
)

// Config is a node's local configuration: APISIX's conf/config.yaml, the keys
// sluice understands. Unknown keys are ignored, so an APISIX config.yaml
// works as is.
type Config struct {
	APISIX struct {
		// ExtraLuaPath is where Lua plugin files are looked up
		// ("/opt/ext/?.lua;..."): a plugin named in plugins is loaded from
		// <dir>/apisix/plugins/<name>.lua when such a file exists.
		ExtraLuaPath       string     `json:"extra_lua_path"`
		NodeListen         listenList `json:"node_listen"`
		EnableServerTokens *bool      `json:"enable_server_tokens"`
		TrustedAddresses   []string   `json:"trusted_addresses"`
		Router             struct {
			HTTP string `json:"http"`
		} `json:"router"`
		// EnableControl and Control place the control API (default on,
		// 127.0.0.1:9090).
		EnableControl *bool      `json:"enable_control"`
		Control       listenAddr `json:"control"`
		// DataEncryption: the keyring for fields APISIX stores
		// encrypted (default APISIX's keyring).
		DataEncryption struct {
			EnableEncryptFields *bool    `json:"enable_encrypt_fields"`
			Keyring             []string `json:"keyring"`
		} `json:"data_encryption"`
		// DisableUpstreamHealthcheck turns every upstream's checks off
		// (default false).
		DisableUpstreamHealthcheck bool `json:"disable_upstream_healthcheck"`
		// DNSResolver lists DNS servers ("ip" or "ip:port") for host-name
		// upstream nodes (default: resolv.conf's); DNSResolverValid is
		// how long, in seconds, an answer is used (default 30).
		DNSResolver      []string `json:"dns_resolver"`
		DNSResolverValid int      `json:"dns_resolver_valid"`
		// SSL.SSLTrustedCertificate is the CAs https upstreams are
		// verified against (tls.verify): "system" (default), or a comma
		// separated list of PEM files.
		SSL struct {
			SSLTrustedCertificate string `json:"ssl_trusted_certificate"`
		} `json:"ssl"`
	} `json:"apisix"`
	// Discovery configures service discovery; only dns is supported.
	Discovery struct {
		DNS struct {
			// Servers are the DNS servers discovery_type dns queries
			// (they also take over dns_resolver's role when set).
			Servers []string `json:"servers"`
		} `json:"dns"`
	} `json:"discovery"`
	// Plugins is the enabled plugin list (APISIX's plugins); nil enables
	// APISIX's default list (plugin.DefaultEnabled), restricted to what
	// sluice has.
	Plugins    []string `json:"plugins"`
	Deployment struct {
		Role            string `json:"role"`
		RoleTraditional struct {
			ConfigProvider string `json:"config_provider"`
		} `json:"role_traditional"`
		RoleDataPlane struct {
			ConfigProvider string `json:"config_provider"`
		} `json:"role_data_plane"`
		Admin AdminConf `json:"admin"`
		Etcd  EtcdConf  `json:"etcd"`
	} `json:"deployment"`
	NginxConfig struct {
		HTTP struct {
			KeepaliveTimeout    nginxDuration `json:"keepalive_timeout"`
			ClientHeaderTimeout nginxDuration `json:"client_header_timeout"`
			ClientBodyTimeout   nginxDuration `json:"client_body_timeout"`
			SendTimeout         nginxDuration `json:"send_timeout"`
			ClientMaxBodySize   nginxSize     `json:"client_max_body_size"`
			// EnableAccessLog (default true), AccessLog (the file, default
			// logs/access.log; "off" turns it off), AccessLogFormat (default
			// APISIX's), AccessLogFormatEscape (default, json or none) and
			// AccessLogBuffer (bytes a loop gathers before the writer is
			// woken, default 16384) are APISIX's access log settings.
			EnableAccessLog       *bool     `json:"enable_access_log"`
			AccessLog             string    `json:"access_log"`
			AccessLogFormat       string    `json:"access_log_format"`
			AccessLogFormatEscape string    `json:"access_log_format_escape"`
			AccessLogBuffer       nginxSize `json:"access_log_buffer"`
			Upstream              struct {
				Keepalive         int           `json:"keepalive"`
				KeepaliveRequests int           `json:"keepalive_requests"`
				KeepaliveTimeout  nginxDuration `json:"keepalive_timeout"`
			} `json:"upstream"`
		} `json:"http"`
	} `json:"nginx_config"`
	// PluginAttr is plugin_attr: plugin-wide settings.
	PluginAttr struct {
		// Prometheus places the metrics exporter: export_addr (default
		// 127.0.0.1:9091), export_uri (default /apisix/prometheus/metrics),
		// metric_prefix (default apisix_), enable_export_server (default
		// true; without it APISIX serves the URI through public-api, which
		// sluice does not have).
		Prometheus struct {
			ExportURI          string     `json:"export_uri"`
			MetricPrefix       string     `json:"metric_prefix"`
			EnableExportServer *bool      `json:"enable_export_server"`
			ExportAddr         listenAddr `json:"export_addr"`
		} `json:"prometheus"`
	} `json:"plugin_attr"`
	// Sluice holds settings APISIX has no equivalent for.
	Sluice struct {
		Loops         int           `json:"loops"`
		ShutdownGrace nginxDuration `json:"shutdown_grace"`
		HighWater     nginxSize     `json:"high_water"`
		// Workers run the blocking work plugins park (a Redis call);
		// ParkQueue bounds the requests waiting for one, past which a
		// request is answered 503 rather than stalling its loop
		// (defaults: engine.DefaultWorkers, engine.DefaultParkQueue).
		Workers   int `json:"workers"`
		ParkQueue int `json:"park_queue"`
		// StartupTimeout bounds the wait for the first full config
		// load before the proxy port opens (default 60 s).
		StartupTimeout nginxDuration `json:"startup_timeout"`
		// AccessLogFlush is the longest an access log line waits in a
		// quiet loop's buffer (default 3 s, nginx's flush=3 in APISIX's
		// template).
		AccessLogFlush nginxDuration `json:"access_log_flush"`
		// EmbeddedEtcd runs a single-node etcd in the process; etcd
		// clients (this node, etcdctl, other nodes) use ClientListen.
		EmbeddedEtcd struct {
			Enable       bool   `json:"enable"`
			DataDir      string `json:"data_dir"`
			ClientListen string `json:"client_listen"`
			PeerListen   string `json:"peer_listen"`
		} `json:"embedded_etcd"`
		// Lua configures the Lua runtime: Budget bounds one call of Lua
		// code (a hook, a filter_func); past it the call is stopped and
		// the request answered 500 (default 100ms).
		Lua struct {
			Budget nginxDuration `json:"budget"`
		} `json:"lua"`
	} `json:"sluice"`

	// Dir is the directory config.yaml was read from; apisix.yaml is
	// looked up beside it. File is config.yaml itself ("" for the built-in
	// defaults): plugins reload reads it again.
	Dir  string `json:"-"`
	File string `json:"-"`
	// Provider is where routes come from: ProviderEtcd or ProviderYAML.
	Provider string `json:"-"`
	// Listen is node_listen resolved to "ip:port" addresses.
	Listen []string `json:"-"`
	// Trusted is trusted_addresses parsed.
	Trusted []netip.Prefix `json:"-"`
}

// AdminConf is deployment.admin.
type AdminConf struct {
	// AdminKeyRequired: false accepts requests without a key (default
	// true).
	AdminKeyRequired *bool `json:"admin_key_required"`
	// AdminKey lists the keys; an empty key is replaced by a random one
	// at start-up.
	AdminKey []struct {
		Name string `json:"name"`
		Key  string `json:"key"`
		Role string `json:"role"`
	} `json:"admin_key"`
	// AllowAdmin lists client networks (default 127.0.0.0/24).
	AllowAdmin []string `json:"allow_admin"`
	// AdminListen is where the Admin API listens (default
	// 127.0.0.1:9180).
	AdminListen     listenAddr `json:"admin_listen"`
	EnableAdminCORS *bool      `json:"enable_admin_cors"`
	AdminAPIVersion string     `json:"admin_api_version"`

	// Allow is AllowAdmin parsed.
	Allow []netip.Prefix `json:"-"`
}

// EtcdConf is deployment.etcd.
type EtcdConf struct {
	Host     []string `json:"host"`
	Prefix   string   `json:"prefix"`
	Timeout  float64  `json:"timeout"` // seconds, per request (default 30)
	User     string   `json:"user"`
	Password string   `json:"password"`
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
func (n *Config) StandaloneFile() string { return filepath.Join(n.Dir, "apisix.yaml") }

// ServerTokens reports enable_server_tokens (default true).
func (n *Config) ServerTokens() bool {
	return n.APISIX.EnableServerTokens == nil || *n.APISIX.EnableServerTokens
}

// Load reads config.yaml at path and applies defaults.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localconf: reading %s: %w", path, err)
	}
	n, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("localconf: %s: %w", path, err)
	}
	n.Dir = filepath.Dir(path)
	n.File = path
	return n, nil
}

// Parse decodes config.yaml content and applies defaults.
func Parse(data []byte) (*Config, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	n := &Config{}
	if string(js) != "null" {
		if err := json.Unmarshal(js, n); err != nil {
			if errors.Is(err, config.ErrInvalid) {
				return nil, err // a field's own check, already worded
			}
			return nil, fmt.Errorf("%w: %w", config.ErrInvalid, err)
		}
	}
	if err := n.normalize(); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *Config) normalize() error {
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
			return fmt.Errorf("%w: apisix.node_listen: bad address %q port %d", config.ErrInvalid, l.IP, l.Port)
		}
		n.Listen = append(n.Listen, netip.AddrPortFrom(a, uint16(l.Port)).String())
	}
	n.Trusted = nil
	for _, t := range n.APISIX.TrustedAddresses {
		p, err := config.ParsePrefix(t)
		if err != nil {
			return fmt.Errorf("apisix.trusted_addresses: %w", err)
		}
		n.Trusted = append(n.Trusted, p)
	}
	switch n.APISIX.Router.HTTP {
	case "", "radixtree_host_uri", "radixtree_uri", "radixtree_uri_with_parameter":
	default:
		return fmt.Errorf("%w: apisix.router.http %q is not one of radixtree_host_uri, radixtree_uri, radixtree_uri_with_parameter", config.ErrInvalid, n.APISIX.Router.HTTP)
	}
	switch n.NginxConfig.HTTP.AccessLogFormatEscape {
	case "", "default", "json", "none":
	default:
		return fmt.Errorf("%w: nginx_config.http.access_log_format_escape %q is not one of default, json, none", config.ErrInvalid, n.NginxConfig.HTTP.AccessLogFormatEscape)
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"loops", n.Sluice.Loops}, {"workers", n.Sluice.Workers}, {"park_queue", n.Sluice.ParkQueue}} {
		if c.v < 0 {
			return fmt.Errorf("%w: sluice.%s %d is negative (0 or absent: the default)", config.ErrInvalid, c.name, c.v)
		}
	}
	if n.Deployment.Role == "" {
		n.Deployment.Role = RoleTraditional
	}
	switch n.Deployment.Role {
	case RoleTraditional, RoleDataPlane, RoleControlPlane:
	default:
		return fmt.Errorf("%w: deployment.role %q is not one of traditional, data_plane, control_plane", config.ErrInvalid, n.Deployment.Role)
	}
	n.Provider = ProviderEtcd
	if n.Deployment.Role == RoleDataPlane {
		switch n.Deployment.RoleDataPlane.ConfigProvider {
		case "", ProviderEtcd:
		case ProviderYAML:
			n.Provider = ProviderYAML
		default:
			return fmt.Errorf("%w: deployment.role_data_plane.config_provider %q is not one of yaml, etcd", config.ErrInvalid, n.Deployment.RoleDataPlane.ConfigProvider)
		}
	} else if p := n.Deployment.RoleTraditional.ConfigProvider; n.Deployment.Role == RoleTraditional && p != "" && p != ProviderEtcd {
		return fmt.Errorf("%w: deployment.role_traditional.config_provider %q: sluice supports etcd (or role data_plane with yaml)", config.ErrInvalid, p)
	}
	return n.normalizeEtcdAndAdmin()
}

// Defaults for the management listeners and etcd, as APISIX's.
const (
	DefaultAdminListen   = "127.0.0.1:9180"
	DefaultControlListen = "127.0.0.1:9090"
	DefaultEtcdHost      = "http://127.0.0.1:2379"
	DefaultEtcdTimeout   = 30 * time.Second
	DefaultEtcdDataDir   = ".sluice-data/etcd"
	DefaultEtcdClient    = "127.0.0.1:2379"
	DefaultEtcdPeer      = "127.0.0.1:2380"
)

func (n *Config) normalizeEtcdAndAdmin() error {
	e := &n.Deployment.Etcd
	if len(e.Host) == 0 {
		e.Host = []string{DefaultEtcdHost}
	}
	if e.Prefix == "" {
		e.Prefix = "/apisix"
	}
	if !strings.HasPrefix(e.Prefix, "/") {
		return fmt.Errorf("%w: deployment.etcd.prefix %q must start with /", config.ErrInvalid, e.Prefix)
	}
	if e.Timeout < 0 {
		return fmt.Errorf("%w: deployment.etcd.timeout must be > 0", config.ErrInvalid)
	}
	emb := &n.Sluice.EmbeddedEtcd
	if emb.DataDir == "" {
		emb.DataDir = DefaultEtcdDataDir
	}
	if emb.ClientListen == "" {
		emb.ClientListen = DefaultEtcdClient
	}
	if emb.PeerListen == "" {
		emb.PeerListen = DefaultEtcdPeer
	}
	a := &n.Deployment.Admin
	if v := a.AdminAPIVersion; v != "" && v != "v3" {
		return fmt.Errorf("%w: deployment.admin.admin_api_version %q: sluice speaks v3 only", config.ErrInvalid, v)
	}
	for i, k := range a.AdminKey {
		switch k.Role {
		case "":
			a.AdminKey[i].Role = "admin"
		case "admin", "viewer":
		default:
			return fmt.Errorf("%w: deployment.admin.admin_key[%d].role %q is not admin or viewer", config.ErrInvalid, i, k.Role)
		}
	}
	allow := a.AllowAdmin
	if allow == nil {
		allow = []string{"127.0.0.0/24"}
	}
	a.Allow = nil
	for _, c := range allow {
		p, err := config.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("deployment.admin.allow_admin: %w", err)
		}
		a.Allow = append(a.Allow, p)
	}
	return nil
}

// AdminAddr is where the Admin API listens.
func (n *Config) AdminAddr() (string, error) {
	return n.Deployment.Admin.AdminListen.addr(DefaultAdminListen, "deployment.admin.admin_listen")
}

// ControlAddr is where the control API listens; "" when it is disabled.
func (n *Config) ControlAddr() (string, error) {
	if n.APISIX.EnableControl != nil && !*n.APISIX.EnableControl {
		return "", nil
	}
	return n.APISIX.Control.addr(DefaultControlListen, "apisix.control")
}

// Defaults for the access log and the metrics exporter, as APISIX's.
const (
	DefaultAccessLog  = "logs/access.log"
	DefaultExportAddr = "127.0.0.1:9091"
)

// AccessLogPath is the access log's file; "" when the access log is off
// (enable_access_log false, or access_log off).
func (n *Config) AccessLogPath() string {
	h := &n.NginxConfig.HTTP
	switch {
	case h.EnableAccessLog != nil && !*h.EnableAccessLog, h.AccessLog == "off":
		return ""
	case h.AccessLog == "":
		return DefaultAccessLog
	}
	return h.AccessLog
}

// PrometheusExportAddr is where the metrics exporter listens; "" when
// enable_export_server is false.
func (n *Config) PrometheusExportAddr() (string, error) {
	p := &n.PluginAttr.Prometheus
	if p.EnableExportServer != nil && !*p.EnableExportServer {
		return "", nil
	}
	return p.ExportAddr.addr(DefaultExportAddr, "plugin_attr.prometheus.export_addr")
}

// AdminEnabled reports whether this node serves the Admin API: the
// traditional and control_plane roles do, as in APISIX.
func (n *Config) AdminEnabled() bool { return n.Deployment.Role != RoleDataPlane }

// ServesTraffic reports whether this node proxies (every role but
// control_plane).
func (n *Config) ServesTraffic() bool { return n.Deployment.Role != RoleControlPlane }

// EtcdTimeout is the per-request etcd timeout.
func (n *Config) EtcdTimeout() time.Duration {
	if n.Deployment.Etcd.Timeout <= 0 {
		return DefaultEtcdTimeout
	}
	return time.Duration(n.Deployment.Etcd.Timeout * float64(time.Second))
}

// Keyring returns the data-encryption keyring (APISIX's default unless
// configured; empty when enable_encrypt_fields is false).
func (n *Config) Keyring() (*config.Keyring, error) {
	de := n.APISIX.DataEncryption
	if de.EnableEncryptFields != nil && !*de.EnableEncryptFields {
		return config.NewKeyring(nil)
	}
	if len(de.Keyring) == 0 {
		return config.NewKeyring(config.DefaultKeyring)
	}
	return config.NewKeyring(de.Keyring)
}

func (l listenAddr) addr(def, what string) (string, error) {
	if l.Port == 0 && l.IP == "" {
		return def, nil
	}
	ip := l.IP
	if ip == "" {
		ip = "127.0.0.1"
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || l.Port < 1 || l.Port > 65535 {
		return "", fmt.Errorf("%w: %s: bad address %q port %d", config.ErrInvalid, what, l.IP, l.Port)
	}
	return netip.AddrPortFrom(a, uint16(l.Port)).String(), nil
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
		return fmt.Errorf("%w: apisix.node_listen must be a port or a list", config.ErrInvalid)
	}
	out := make(listenList, 0, len(items))
	for _, it := range items {
		if json.Unmarshal(it, &port) == nil {
			out = append(out, listenAddr{Port: port})
			continue
		}
		var a listenAddr
		if err := json.Unmarshal(it, &a); err != nil {
			return fmt.Errorf("%w: apisix.node_listen entry %s", config.ErrInvalid, it)
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
		return fmt.Errorf("%w: bad duration %s", config.ErrInvalid, b)
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
				return 0, fmt.Errorf("%w: bad duration %q", config.ErrInvalid, s)
			}
			return time.Duration(n * float64(u.unit)), nil
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad duration %q", config.ErrInvalid, s)
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
		return fmt.Errorf("%w: bad size %s", config.ErrInvalid, b)
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
		return fmt.Errorf("%w: bad size %q", config.ErrInvalid, s)
	}
	*z = nginxSize(n * mult)
	return nil
}

// DNSServers returns the DNS servers upstream names are resolved with, as
// "ip:port" (port 53 when absent): discovery.dns.servers, else
// apisix.dns_resolver; nil means the system's.
func (c *Config) DNSServers() []string {
	list := c.Discovery.DNS.Servers
	if len(list) == 0 {
		list = c.APISIX.DNSResolver
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		if _, err := netip.ParseAddrPort(s); err != nil {
			s = strings.Trim(s, "[]")
			if strings.Contains(s, ":") {
				s = "[" + s + "]"
			}
			s += ":53"
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// UpstreamCAs loads apisix.ssl.ssl_trusted_certificate: nil for "system"
// or unset (the system pool), else a pool of the listed PEM files
// (relative paths from config.yaml's directory), plus the system's CAs
// when "system" is one of the entries.
func (c *Config) UpstreamCAs() (*x509.CertPool, error) {
	spec := strings.TrimSpace(c.APISIX.SSL.SSLTrustedCertificate)
	if spec == "" || spec == "system" {
		return nil, nil
	}
	var files []string
	pool := x509.NewCertPool()
	for _, entry := range strings.Split(spec, ",") {
		switch entry = strings.TrimSpace(entry); entry {
		case "":
		case "system":
			sys, err := x509.SystemCertPool()
			if err != nil {
				return nil, fmt.Errorf("localconf: apisix.ssl.ssl_trusted_certificate: system CAs: %w", err)
			}
			pool = sys
		default:
			files = append(files, entry)
		}
	}
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(c.Dir, f)
		}
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("localconf: apisix.ssl.ssl_trusted_certificate: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("localconf: apisix.ssl.ssl_trusted_certificate: no certificate in %s", f)
		}
	}
	return pool, nil
}

package localconf

import (
	"strings"
	"testing"
)

func TestParseLocalDefaults(t *testing.T) {
	n, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := n.AdminAddr()
	control, _ := n.ControlAddr()
	if n.Deployment.Role != RoleTraditional || n.Provider != ProviderEtcd || !n.AdminEnabled() || !n.ServesTraffic() ||
		admin != DefaultAdminListen || control != DefaultControlListen ||
		n.Deployment.Etcd.Host[0] != DefaultEtcdHost || n.Deployment.Etcd.Prefix != "/apisix" ||
		n.EtcdTimeout() != DefaultEtcdTimeout || n.Deployment.Admin.Allow[0].String() != "127.0.0.0/24" ||
		n.Listen[0] != "0.0.0.0:9080" {
		t.Fatalf("defaults: %+v", n)
	}
	if kr, err := n.Keyring(); err != nil || kr.Decrypt(kr.Encrypt("x")) != "x" || kr.Encrypt("x") == "x" {
		t.Fatalf("default keyring: %v", err)
	}
}

func TestParseLocal(t *testing.T) {
	n, err := Parse([]byte(`
apisix:
  enable_control: false
  data_encryption:
    enable_encrypt_fields: false
deployment:
  role: data_plane
  role_data_plane:
    config_provider: yaml
  admin:
    admin_key:
      - {name: v, key: k, role: viewer}
    allow_admin: [10.0.0.0/8, "::1"]
    admin_listen: {ip: 0.0.0.0, port: 9999}
  etcd:
    host: ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]
    prefix: /gw
    timeout: 2.5
`))
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := n.AdminAddr()
	control, _ := n.ControlAddr()
	if n.Provider != ProviderYAML || n.AdminEnabled() || admin != "0.0.0.0:9999" || control != "" ||
		len(n.Deployment.Admin.Allow) != 2 || n.Deployment.Etcd.Prefix != "/gw" || n.EtcdTimeout().Seconds() != 2.5 {
		t.Fatalf("%+v", n)
	}
	if kr, _ := n.Keyring(); kr.Encrypt("x") != "x" {
		t.Fatal("enable_encrypt_fields: false still encrypts")
	}
	for _, tc := range []struct{ yaml, want string }{
		{"deployment: {role: edge}", `deployment.role "edge"`},
		{"deployment: {role: data_plane, role_data_plane: {config_provider: json}}", `config_provider "json"`},
		{"deployment: {role: traditional, role_traditional: {config_provider: yaml}}", "sluice supports etcd"},
		{"deployment: {admin: {admin_api_version: v2}}", "v3 only"},
		{"deployment: {admin: {admin_key: [{key: a, role: root}]}}", `role "root"`},
		{"deployment: {admin: {allow_admin: [nonsense]}}", "allow_admin"},
		{"deployment: {etcd: {prefix: apisix}}", "must start with /"},
		{"deployment: {role: 5}", "invalid configuration: json: cannot unmarshal"},
		{"deployment: {admin: {admin_listen: {port: 70000}}}", "admin_listen"},
		{"sluice: {park_queue: -1}", "sluice.park_queue -1 is negative"},
		{"sluice: {workers: -2}", "sluice.workers -2 is negative"},
		{"apisix: {data_encryption: {keyring: [short]}}", ""},
	} {
		n, err := Parse([]byte(tc.yaml))
		if err == nil && tc.want == "" {
			_, err = n.Keyring()
			tc.want = "16 or 32 bytes"
		}
		if err == nil {
			_, err = n.AdminAddr()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// A field's own check is worded once, not prefixed twice.
func TestParseFieldError(t *testing.T) {
	_, err := Parse([]byte("apisix: {node_listen: {a: 1}}"))
	if want := "invalid configuration: apisix.node_listen must be a port or a list"; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
}

func TestAccessLogAndExporter(t *testing.T) {
	n, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if addr, err := n.PrometheusExportAddr(); n.AccessLogPath() != DefaultAccessLog || addr != DefaultExportAddr || err != nil {
		t.Fatalf("defaults: %q %q %v", n.AccessLogPath(), addr, err)
	}
	n, err = Parse([]byte(`
nginx_config:
  http:
    access_log: /var/log/gw.log
    access_log_format: '{"a":"$remote_addr"}'
    access_log_format_escape: json
    access_log_buffer: 32k
plugin_attr:
  prometheus:
    export_addr: {ip: 0.0.0.0, port: 9100}
    export_uri: /metrics
    metric_prefix: gw_
sluice:
  access_log_flush: 100ms
`))
	if err != nil {
		t.Fatal(err)
	}
	h := &n.NginxConfig.HTTP
	addr, _ := n.PrometheusExportAddr()
	if n.AccessLogPath() != "/var/log/gw.log" || h.AccessLogFormatEscape != "json" || h.AccessLogBuffer != 32<<10 ||
		addr != "0.0.0.0:9100" || n.PluginAttr.Prometheus.ExportURI != "/metrics" || n.Sluice.AccessLogFlush.Duration().Milliseconds() != 100 {
		t.Fatalf("%+v %q", n, addr)
	}
	for yaml, off := range map[string]bool{
		"nginx_config: {http: {enable_access_log: false}}": true,
		"nginx_config: {http: {access_log: 'off'}}":        true,
		"nginx_config: {http: {access_log: logs/a.log}}":   false,
	} {
		if n, err := Parse([]byte(yaml)); err != nil || (n.AccessLogPath() == "") != off {
			t.Errorf("%s: %q %v", yaml, n.AccessLogPath(), err)
		}
	}
	if n, _ := Parse([]byte("plugin_attr: {prometheus: {enable_export_server: false}}")); n != nil {
		if addr, err := n.PrometheusExportAddr(); addr != "" || err != nil {
			t.Errorf("export server off: %q %v", addr, err)
		}
	}
	if _, err := Parse([]byte("nginx_config: {http: {access_log_format_escape: xml}}")); err == nil || !strings.Contains(err.Error(), "access_log_format_escape") {
		t.Errorf("bad escape: %v", err)
	}
}

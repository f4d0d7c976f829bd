package realip

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

func TestSchema(t *testing.T) {
	// real-ip.t TEST 1.
	for _, tc := range []struct{ conf, want string }{
		{`{}`, `property "source" is required`},
		{`{"source": "http_xff", "trusted_addresses": ["127.0.0.1/33"]}`, `property "trusted_addresses" validation failed: failed to validate item 1: object matches none of the required`},
		{`{"source": "http_xff", "trusted_addresses": ["::1/129"]}`, `invalid ip address: ::1/129`},
		{`{"source": ""}`, `property "source" validation failed: string too short, expected at least 1, got 0`},
		{`{"source": "http_xff", "trusted_addresses": []}`, `property "trusted_addresses" validation failed: expect array to have at least 1 items`},
	} {
		if err := plugintest.Check("real-ip", tc.conf); err == nil || err.Error() != tc.want {
			t.Errorf("%s: %v, want %q", tc.conf, err, tc.want)
		}
	}
	if err := plugintest.Check("real-ip", `{"source": "http_x_forwarded_for", "trusted_addresses": ["127.0.0.1", "10.0.0.0/8", "::1", "fe80::/32"], "recursive": true}`); err != nil {
		t.Error(err)
	}
}

// run sends one request through a real-ip conf and returns the client's
// address and port as later phases see them.
func run(t *testing.T, conf, head string) (addr, port string) {
	t.Helper()
	ch := plugintest.Chain(t, "real-ip", conf)
	c := plugintest.NewCtx(t, head)
	plugintest.Request(ch, c)
	a, _ := c.Var("remote_addr")
	p, _ := c.Var("remote_port")
	return string(a), string(p)
}

func TestSource(t *testing.T) {
	xff := `{"source": "http_xff"}`
	for _, tc := range []struct {
		name, conf, headers, wantAddr, wantPort string
	}{
		// real-ip.t TEST 3-13 (the connection is 127.0.0.1:52000).
		{"hit", xff, "XFF: 1.1.1.1", "1.1.1.1", "52000"},
		{"with port", xff, "XFF: 1.1.1.1:80", "1.1.1.1", "80"},
		{"missing", xff, "", "127.0.0.1", "52000"},
		{"bad address", xff, "XFF: 1.1.1.1.1", "127.0.0.1", "52000"},
		{"bad port", xff, "XFF: 1.1.1.1:65536", "127.0.0.1", "52000"},
		{"port zero", xff, "XFF: 1.1.1.1:0", "127.0.0.1", "52000"},
		{"port not a number", xff, "XFF: 1.1.1.1:http", "1.1.1.1", "52000"},
		{"port in hex", xff, "XFF: 1.1.1.1:0x50", "1.1.1.1", "80"},
		{"trailing colon", xff, "XFF: 1.1.1.1:", "127.0.0.1", "52000"},
		{"host name", xff, "XFF: localhost:80", "127.0.0.1", "52000"},
		{"ipv6", xff, "XFF: ::2", "::2", "52000"},
		{"ipv6 with port", xff, "XFF: [::2]:80", "::2", "80"},
		{"ipv6 with brackets", xff, "XFF: [::2]", "::2", "52000"},
		{"ipv6 canonical text", xff, "XFF: 2001:DB8:0:0::2", "2001:db8::2", "52000"},
		{"ipv4 in brackets", xff, "XFF: [1.1.1.1]", "127.0.0.1", "52000"},
		{"ipv6 zone", xff, "XFF: fe80::1%eth0", "127.0.0.1", "52000"},
		{"check port", xff, "XFF: 1.1.1.1:7090", "1.1.1.1", "7090"},
		{"arg", `{"source": "arg_realip"}`, "", "127.0.0.1", "52000"},
		// real-ip.t TEST 14-17: the last X-Forwarded-For field, its last
		// address.
		{"xff last address", `{"source": "http_x_forwarded_for"}`, "X-Forwarded-For: ::1, ::2", "::2", "52000"},
		{"xff last field", `{"source": "http_x_forwarded_for"}`, "X-Forwarded-For: ::1\r\nX-Forwarded-For: ::2", "::2", "52000"},
		{"xff spaces", `{"source": "http_x_forwarded_for"}`, "X-Forwarded-For: 3.3.3.3,   4.4.4.4:81", "4.4.4.4", "81"},
		{"xff missing", `{"source": "http_x_forwarded_for"}`, "", "127.0.0.1", "52000"},
		// TEST 18-23: trusted_addresses and recursive.
		{"not trusted", `{"trusted_addresses": ["192.128.0.0/16"], "source": "http_x_forwarded_for"}`, "X-Forwarded-For: 1.1.1.1", "127.0.0.1", "52000"},
		{"trusted", `{"trusted_addresses": ["192.128.0.0/16", "127.0.0.0/24"], "source": "http_x_forwarded_for"}`, "X-Forwarded-For: 1.1.1.1", "1.1.1.1", "52000"},
		{"recursive", `{"trusted_addresses": ["192.128.0.0/16", "127.0.0.0/24"], "source": "http_x_forwarded_for", "recursive": true}`,
			"X-Forwarded-For: 1.1.1.1, 192.128.1.1, 127.0.0.1", "1.1.1.1", "52000"},
		{"recursive, all trusted", `{"trusted_addresses": ["127.0.0.0/24"], "source": "http_x_forwarded_for", "recursive": true}`,
			"X-Forwarded-For: 127.0.0.9, 127.0.0.1", "127.0.0.9", "52000"},
		{"not recursive", `{"trusted_addresses": ["192.128.0.0/16", "127.0.0.0/24"], "source": "http_x_forwarded_for"}`,
			"X-Forwarded-For: 1.1.1.1, 192.128.1.1, 127.0.0.1", "127.0.0.1", "52000"},
		{"recursive without trusted_addresses", `{"source": "http_x_forwarded_for", "recursive": true}`,
			"X-Forwarded-For: 1.1.1.1, 2.2.2.2", "2.2.2.2", "52000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := "GET /hello HTTP/1.1\r\nHost: x\r\n"
			if tc.headers != "" {
				head += tc.headers + "\r\n"
			}
			if tc.name == "arg" {
				head = "GET /hello?realip=5.5.5.5:99 HTTP/1.1\r\nHost: x\r\n"
				tc.wantAddr, tc.wantPort = "5.5.5.5", "99"
			}
			addr, port := run(t, tc.conf, head)
			if addr != tc.wantAddr || port != tc.wantPort {
				t.Errorf("%s: %s:%s, want %s:%s", strings.TrimSpace(tc.headers), addr, port, tc.wantAddr, tc.wantPort)
			}
		})
	}
}

// TestNextRequestStartsFromTheConnection: the rewritten address is the
// request's, not the connection's.
func TestNextRequestStartsFromTheConnection(t *testing.T) {
	ch := plugintest.Chain(t, "real-ip", `{"source": "http_x_forwarded_for"}`)
	c := plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.1.1.1\r\n")
	plugintest.Request(ch, c)
	if string(c.RemoteText) != "1.1.1.1" {
		t.Fatalf("rewritten: %q", c.RemoteText)
	}
	c.Reset()
	if string(c.RemoteText) != "127.0.0.1" {
		t.Fatalf("the next request kept %q", c.RemoteText)
	}
}

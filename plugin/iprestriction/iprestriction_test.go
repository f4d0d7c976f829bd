package iprestriction

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

func TestSchema(t *testing.T) {
	// ip-restriction.t TEST 2-6, 24, 31, 32, 35.
	for _, tc := range []struct{ conf, want string }{
		{`{"whitelist": ["10.255.256.0/24", "192.168.0.0/16"]}`, `property "whitelist" validation failed: failed to validate item 1: object matches none of the required`},
		{`{"whitelist": ["10.255.254.0/38", "192.168.0.0/16"]}`, `property "whitelist" validation failed: failed to validate item 1: object matches none of the required`},
		{`{}`, `value should match only one schema, but matches none`},
		{`{"blacklist": []}`, `property "blacklist" validation failed: expect array to have at least 1 items`},
		{`{"whitelist": ["172.17.40.0/24"], "blacklist": ["10.255.0.0/16"]}`, `value should match only one schema, but matches both schemas 1 and 2`},
		{`{"whitelist": ["::1/129"]}`, `invalid ip address: ::1/129`},
		{`{"whitelist": ["::ffgg"]}`, `property "whitelist" validation failed: failed to validate item 1: object matches none of the required`},
		{`{"whitelist": ["127.0.0.0/24"], "message": ""}`, `property "message" validation failed: string too short, expected at least 1, got 0`},
		{`{"whitelist": ["127.0.0.0/24"], "message": "` + strings.Repeat("-1Aa#", 205) + `"}`, `property "message" validation failed: string too long, expected at most 1024, got 1025`},
		{`{"whitelist": ["127.0.0.0/24"], "response_code": 409}`, `property "response_code" validation failed: expected 409 to be at most 404`},
	} {
		if err := plugintest.Check("ip-restriction", tc.conf); err == nil || err.Error() != tc.want {
			t.Errorf("%.80s: %v, want %q", tc.conf, err, tc.want)
		}
	}
	// TEST 1 and 19: accepted, with the defaults filled in.
	got, err := plugintest.Checked("ip-restriction", `{"whitelist": ["10.255.254.0/24", "192.168.0.0/16", "::1", "fe80::/32", "2001:DB8:0:23:8:800:200C:417A"]}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"message":"Your IP address is not allowed","response_code":403,"whitelist":["10.255.254.0/24","192.168.0.0/16","::1","fe80::/32","2001:DB8:0:23:8:800:200C:417A"]}`; string(got) != want {
		t.Errorf("conf %s, want %s", got, want)
	}
}

// request runs one request from client through conf; it returns 0 when
// the request goes on, else the answer's status and body.
func request(t *testing.T, conf, client string) (int, string) {
	t.Helper()
	ch := plugintest.Chain(t, "ip-restriction", conf)
	c := plugintest.NewCtx(t, "GET /hello HTTP/1.1\r\nHost: x\r\n")
	c.RemoteAddr = netip.MustParseAddr(client)
	if plugintest.Request(ch, c) != reqctx.Stop {
		return 0, ""
	}
	_, body, _, _ := c.Exited()
	return c.Status, string(body)
}

func TestRestrict(t *testing.T) {
	const denied = "{\"message\":\"Your IP address is not allowed\"}\n"
	const bad = "{\"message\":\"Do you want to do something bad?\"}\n"
	white := `{"whitelist": ["127.0.0.0/24", "113.74.26.106"]}`
	black := `{"blacklist": ["127.0.0.0/24", "113.74.26.106"]}`
	for _, tc := range []struct {
		name, conf, client string
		status             int
		body               string
	}{
		// ip-restriction.t TEST 8-11.
		{"whitelisted cidr", white, "127.0.0.1", 0, ""},
		{"whitelisted ip", white, "113.74.26.106", 0, ""},
		{"not whitelisted", white, "114.114.114.114", 403, denied},
		{"ipv6 not whitelisted", white, "2001:db8::2", 403, denied},
		// TEST 13-16.
		{"blacklisted cidr", black, "127.0.0.1", 403, denied},
		{"blacklisted ip", black, "113.74.26.106", 403, denied},
		{"not blacklisted", black, "114.114.114.114", 0, ""},
		{"ipv6 not blacklisted", black, "2001:db8::2", 0, ""},
		// TEST 20-23.
		{"ipv6 list, ipv4 client", `{"blacklist": ["::1", "fe80::/32"]}`, "127.0.0.1", 0, ""},
		{"ipv6 blacklisted", `{"blacklist": ["::1", "fe80::/32"]}`, "::1", 403, denied},
		{"ipv6 cidr blacklisted", `{"blacklist": ["::1", "fe80::/32"]}`, "fe80::1:1", 403, denied},
		// TEST 26-30, 33-34: message and response_code.
		{"message", `{"blacklist": ["127.0.0.0/24"], "message": "Do you want to do something bad?"}`, "127.0.0.1", 403, bad},
		{"message, whitelist", `{"whitelist": ["127.0.0.0/24"], "message": "Do you want to do something bad?"}`, "114.114.114.114", 403, bad},
		{"404", `{"whitelist": ["127.0.0.0/24"], "response_code": 404}`, "114.114.114.114", 404, denied},
		// lua-cjson's escapes.
		{"cjson", `{"blacklist": ["127.0.0.1"], "message": "no </script> \"here\"\t"}`, "127.0.0.1", 403, "{\"message\":\"no <\\/script> \\\"here\\\"\\t\"}\n"},
		// ipmatcher keeps the families apart.
		{"mapped client", `{"whitelist": ["127.0.0.0/8"]}`, "::ffff:127.0.0.1", 403, denied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := request(t, tc.conf, tc.client)
			if status != tc.status || body != tc.body {
				t.Errorf("%s: %d %q, want %d %q", tc.client, status, body, tc.status, tc.body)
			}
		})
	}
}

func TestNoAddressIsOnNoList(t *testing.T) {
	for conf, want := range map[string]int{`{"whitelist": ["0.0.0.0/0", "::/0"]}`: 403, `{"blacklist": ["0.0.0.0/0", "::/0"]}`: 0} {
		ch := plugintest.Chain(t, "ip-restriction", conf)
		c := plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x\r\n")
		c.RemoteAddr = netip.Addr{}
		got := 0
		if plugintest.Request(ch, c) == reqctx.Stop {
			got = c.Status
		}
		if got != want {
			t.Errorf("%s: %d, want %d", conf, got, want)
		}
	}
}

package engine

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/sluicegw/sluice/trie"
)

// startGatewayMode is startGateway with a router mode.
func startGatewayMode(t *testing.T, mode trie.Mode, yaml string) *gateway {
	t.Helper()
	g := startGateway(t, "routes: []\n", Options{})
	g.b.Mode = mode
	g.load(yaml)
	return g
}

// TestRoutingThroughTheEngine checks that what the engine hands the router
// (lower-cased host without port, normalised path, method, client address,
// variables from the query, headers, cookies and form bodies) routes as
// APISIX would. The rules themselves are tested in package trie.
func TestRoutingThroughTheEngine(t *testing.T) {
	// Each route rewrites Host to its id, which the upstream echoes: the
	// body says which route served the request.
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) }))
	route := func(id, rest string) string {
		return fmt.Sprintf("  - id: %s\n%s    upstream:\n      pass_host: rewrite\n      upstream_host: %s\n      nodes:\n        %q: 1\n", id, rest, id, up.addr)
	}
	yaml := "routes:\n" +
		route("hostless", "    uri: /p/*\n    priority: 100\n") +
		route("host", "    uri: /p/*\n    hosts: [api.example.com]\n") +
		route("wild", "    uri: /p/*\n    host: \"*.example.org\"\n") +
		route("arg", "    uri: /v\n    vars: [[\"arg_env\", \"==\", \"canary\"]]\n") +
		route("header", "    uri: /v\n    vars: [[\"http_x_tenant\", \"~~\", \"^t[0-9]+$\"]]\n") +
		route("cookie", "    uri: /v\n    vars: [[\"cookie_beta\", \"==\", \"1\"]]\n") +
		route("form", "    uri: /v\n    methods: [POST]\n    vars: [[\"post_arg_user\", \"==\", \"bob\"]]\n") +
		route("local", "    uri: /v\n    remote_addrs: [\"127.0.0.0/8\"]\n") +
		route("normalised", "    uri: /n/c\n")
	g := startGatewayMode(t, trie.HostURI, yaml)
	for _, tc := range []struct{ name, req, want string }{
		{"host-beats-priority", "GET /p/x HTTP/1.1\r\nHost: API.Example.COM:8080\r\n\r\n", "host"},
		{"wildcard-host", "GET /p/x HTTP/1.1\r\nHost: a.b.example.org\r\n\r\n", "wild"},
		{"host-less-fallback", "GET /p/x HTTP/1.1\r\nHost: other.net\r\n\r\n", "hostless"},
		{"absolute-form-host", "GET http://api.example.com/p/y HTTP/1.1\r\nHost: other.net\r\n\r\n", "host"},
		{"query-arg", "GET /v?x=1&ENV=canary HTTP/1.1\r\nHost: a\r\n\r\n", "arg"},
		{"header", "GET /v HTTP/1.1\r\nHost: a\r\nX-Tenant: t42\r\n\r\n", "header"},
		{"cookie", "GET /v HTTP/1.1\r\nHost: a\r\nCookie: a=b; beta=1\r\n\r\n", "cookie"},
		{"form-body", "POST /v HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\nuser=bob&x=1", "form"},
		{"form-needs-form-type", "POST /v HTTP/1.1\r\nHost: a\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nuser=bob", "local"},
		{"remote-addr", "GET /v HTTP/1.1\r\nHost: a\r\n\r\n", "local"},
		{"normalised-path", "GET /n/./a/../c HTTP/1.1\r\nHost: a\r\n\r\n", "normalised"},
		{"encoded-path", "GET /n/%63 HTTP/1.1\r\nHost: a\r\n\r\n", "normalised"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := g.dial()
			c.send(tc.req)
			resp, body := c.response("GET")
			if resp.StatusCode != 200 || body != tc.want {
				t.Fatalf("status %d, routed to %q, want %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// TestParameterMode routes with radixtree_uri_with_parameter: ":id" takes
// one non-empty segment, and the path is forwarded as received.
func TestParameterMode(t *testing.T) {
	up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) }))
	g := startGatewayMode(t, trie.URIWithParameter, fmt.Sprintf(`routes:
  - uri: /user/:id/profile
    upstream:
      nodes:
        %q: 1
`, up.addr))
	c := g.dial()
	c.send("GET /user/42/profile HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := c.response("GET"); resp.StatusCode != 200 || body != "/user/42/profile" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	for _, path := range []string{"/user//profile", "/user/42/profile/x", "/user/42"} {
		c.send("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp, _ := c.response("GET"); resp.StatusCode != 404 {
			t.Fatalf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}

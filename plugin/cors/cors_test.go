package cors

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// corsHeaders keeps the CORS-related lines of a rendered response head.
func corsHeaders(fields string) string {
	var out []string
	for _, l := range strings.Split(fields, "\n") {
		if strings.HasPrefix(l, "access-control-") || strings.HasPrefix(l, "vary:") || strings.HasPrefix(l, "timing-allow-origin:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

const specified = `{"allow_origins": "http://sub.domain.com,http://sub2.domain.com", "allow_methods": "GET,POST",
  "allow_headers": "headr1,headr2", "expose_headers": "ex-headr1,ex-headr2", "max_age": 50, "allow_credential": true}`

// APISIX's t/plugin/cors*.t cases: the CORS fields of the response.
func TestCorsAsAPISIX(t *testing.T) {
	for _, tc := range []struct {
		name, conf, req, upstream, want string
	}{
		{"default (TEST 7)", `{}`, "GET /hello HTTP/1.1\r\nHost: x", "HTTP/1.1 200 OK\r\nContent-Length: 12",
			"access-control-allow-headers: *\naccess-control-allow-methods: *\naccess-control-allow-origin: *\naccess-control-max-age: 5"},
		{"specified (TEST 9)", specified, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://sub2.domain.com", "HTTP/1.1 200 OK\r\nVary: Via\r\nContent-Length: 12",
			"access-control-allow-credentials: true\naccess-control-allow-headers: headr1,headr2\naccess-control-allow-methods: GET,POST\n" +
				"access-control-allow-origin: http://sub2.domain.com\naccess-control-expose-headers: ex-headr1,ex-headr2\naccess-control-max-age: 50\nvary: Via, Origin"},
		{"no match (TEST 10)", specified, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://sub3.domain.com", "HTTP/1.1 200 OK\r\nContent-Length: 12",
			"vary: Origin"},
		{"single origin that differs", `{"allow_origins": "http://a.com"}`, "GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://b.com", "HTTP/1.1 200 OK\r\nContent-Length: 1",
			"vary: Origin"},
		{"force wildcard (TEST 12)", `{"allow_origins": "**", "allow_methods": "**", "allow_headers": "**", "expose_headers": "*"}`,
			"GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://sub.domain.com\r\nAccess-Control-Request-Headers: req-header1,req-header2", "HTTP/1.1 200 OK\r\nContent-Length: 12",
			"access-control-allow-headers: req-header1,req-header2\naccess-control-allow-methods: GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE\n" +
				"access-control-allow-origin: https://sub.domain.com\naccess-control-expose-headers: *\naccess-control-max-age: 5\nvary: Origin"},
		{"force wildcard, no origin (TEST 13)", `{"allow_origins": "**", "allow_methods": "**", "allow_headers": "**", "expose_headers": "*"}`,
			"GET /hello HTTP/1.1\r\nHost: x", "HTTP/1.1 200 OK\r\nContent-Length: 12",
			"access-control-allow-methods: GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE\naccess-control-allow-origin: *\naccess-control-expose-headers: *\naccess-control-max-age: 5\nvary: Origin"},
		{"overwrite upstream (TEST 18-23)", `{"allow_origins": "**", "allow_methods": "**", "allow_headers": "request-h", "expose_headers": "expose-h", "max_age": 5, "allow_credential": true}`,
			"GET /headers HTTP/1.1\r\nHost: x\r\nOrigin: https://sub.domain.com",
			"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://other\r\nAccess-Control-Max-Age: 10\r\nAccess-Control-Allow-Credentials: false\r\nContent-Length: 9",
			"access-control-allow-credentials: true\naccess-control-allow-headers: request-h\naccess-control-allow-methods: GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE\n" +
				"access-control-allow-origin: https://sub.domain.com\naccess-control-expose-headers: expose-h\naccess-control-max-age: 5\nvary: Origin"},
		{"regex (TEST 29)", `{"allow_origins": "http://sub.domain.com", "allow_origins_by_regex": [".*\\.test.com"], "allow_methods": "GET,POST", "allow_headers": "headr1,headr2", "max_age": 50}`,
			"GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://a.test.com", "HTTP/1.1 200 OK\r\nVary: Via\r\nContent-Length: 12",
			"access-control-allow-headers: headr1,headr2\naccess-control-allow-methods: GET,POST\naccess-control-allow-origin: http://a.test.com\naccess-control-max-age: 50\nvary: Via, Origin"},
		{"regex no match (TEST 30)", `{"allow_origins": "http://sub.domain.com", "allow_origins_by_regex": [".*\\.test.com$"]}`,
			"GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://a.test2.com", "HTTP/1.1 200 OK\r\nContent-Length: 12", "vary: Origin"},
		{"several regexes (TEST 32)", `{"allow_origins": "http://x.com", "allow_origins_by_regex": [".*\\.test.com", ".*\\.example.org"]}`,
			"GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://foo.example.org", "HTTP/1.1 200 OK\r\nContent-Length: 12",
			"access-control-allow-headers: *\naccess-control-allow-methods: *\naccess-control-allow-origin: http://foo.example.org\naccess-control-max-age: 5\nvary: Origin"},
		{"regex with default allow_origins, no Vary (cors2 TEST 5)", `{"allow_origins_by_regex": [".*\\.domain.com"]}`,
			"GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: http://sub.domain.com", "HTTP/1.1 200 OK\r\nVary: Via\r\nContent-Length: 12",
			"access-control-allow-headers: *\naccess-control-allow-methods: *\naccess-control-allow-origin: http://sub.domain.com\naccess-control-max-age: 5\nvary: Via"},
		{"regex, no origin (cors2 TEST 4)", `{"allow_origins_by_regex": [".*\\.domain.com"]}`,
			"GET /hello HTTP/1.1\r\nHost: x", "HTTP/1.1 200 OK\r\nContent-Length: 12", ""},
		{"timing origins", `{"timing_allow_origins": "http://a.com,http://b.com"}`,
			"GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://b.com", "HTTP/1.1 200 OK\r\nContent-Length: 1",
			"access-control-allow-headers: *\naccess-control-allow-methods: *\naccess-control-allow-origin: *\naccess-control-max-age: 5\ntiming-allow-origin: http://b.com"},
		{"timing regex", `{"timing_allow_origins_by_regex": ["b\\.com$"]}`,
			"GET / HTTP/1.1\r\nHost: x\r\nOrigin: http://b.com", "HTTP/1.1 200 OK\r\nContent-Length: 1",
			"access-control-allow-headers: *\naccess-control-allow-methods: *\naccess-control-allow-origin: *\naccess-control-max-age: 5\ntiming-allow-origin: http://b.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.Chain(t, "cors", tc.conf)
			c := plugintest.NewCtx(t, tc.req)
			if res := plugintest.Request(ch, c); res != reqctx.Continue {
				t.Fatalf("result %v", res)
			}
			_, fields := plugintest.HeaderFilter(ch, c, plugintest.Upstream(t, c, tc.upstream), 0)
			if got := corsHeaders(fields); got != tc.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// A preflight is answered 200 with an empty body, CORS headers included
// (TEST 14); an error answer of the gateway gets them too (TEST 16).
func TestPreflightAndGatewayAnswers(t *testing.T) {
	ch := plugintest.Chain(t, "cors", `{"allow_origins": "**"}`)
	c := plugintest.NewCtx(t, "OPTIONS /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://sub.domain.com")
	if res := plugintest.Request(ch, c); res != reqctx.Stop {
		t.Fatalf("result %v", res)
	}
	if _, body, has, _ := c.Exited(); c.Status != 200 || !has || len(body) != 0 {
		t.Fatalf("%d %q %v", c.Status, body, has)
	}
	st, fields := plugintest.HeaderFilter(ch, c, nil, 200)
	if st != 200 || !strings.Contains(fields, "access-control-allow-origin: https://sub.domain.com\n") {
		t.Fatalf("%d %s", st, fields)
	}

	c = plugintest.NewCtx(t, "GET /hello HTTP/1.1\r\nHost: x\r\nOrigin: https://sub.domain.com")
	plugintest.Request(ch, c)
	c.Exit(401, []byte("{\"message\":\"Missing API key in request\"}\n"))
	if _, fields := plugintest.HeaderFilter(ch, c, nil, 401); !strings.Contains(fields, "access-control-allow-origin: https://sub.domain.com\n") {
		t.Fatalf("401: %s", fields)
	}
}

// metaConfig serves compiled plugin metadata.
type metaConfig struct{ md any }

func (m metaConfig) Credential(string, []byte) *reqctx.Credential { return nil }
func (m metaConfig) Consumer(string) *reqctx.Consumer             { return nil }
func (m metaConfig) Metadata(name string) any {
	if name == "cors" {
		return m.md
	}
	return nil
}

// cors3.t: origins by plugin metadata.
func TestOriginsByMetadata(t *testing.T) {
	md, err := newMetadata([]byte(`{"allow_origins": {"key_1": "https://domain.com", "key_2": "https://sub.domain.com,https://sub2.domain.com", "key_3": "*"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ conf, origin, want string }{
		{`{"allow_origins_by_metadata": ["key_1"]}`, "http://foo.example.org", ""},
		{`{"allow_origins_by_metadata": ["key_1"]}`, "https://domain.com", "https://domain.com"},
		{`{"allow_origins_by_metadata": ["key_2"]}`, "https://sub2.domain.com", "https://sub2.domain.com"},
		{`{"allow_origins_by_metadata": ["key_3"]}`, "https://any.com", "https://any.com"},
		{`{"allow_origins": "https://x.com", "allow_origins_by_metadata": ["key_1"]}`, "https://x.com", "https://x.com"},
		{`{"allow_origins_by_regex": [".*\\.x\\.com"], "allow_origins_by_metadata": ["key_1"]}`, "https://domain.com", "https://domain.com"},
		{`{"allow_origins_by_metadata": ["key_missing"]}`, "https://domain.com", ""},
	} {
		ch := plugintest.Chain(t, "cors", tc.conf)
		c := plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x\r\nOrigin: "+tc.origin)
		c.Config = metaConfig{md}
		plugintest.Request(ch, c)
		_, fields := plugintest.HeaderFilter(ch, c, plugintest.Upstream(t, c, "HTTP/1.1 200 OK\r\nContent-Length: 1"), 0)
		got := ""
		for _, l := range strings.Split(fields, "\n") {
			if v, ok := strings.CutPrefix(l, "access-control-allow-origin: "); ok {
				got = v
			}
		}
		if got != tc.want {
			t.Errorf("%s with %s: %q, want %q", tc.conf, tc.origin, got, tc.want)
		}
	}
}

func TestCheckRefusesAsAPISIX(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{`{"max_age": "5"}`, `property "max_age" validation failed: wrong type: expected integer, got string`},
		{`{"allow_credential": true}`, "you can not set '*' for other option when 'allow_credential' is true"},
		{`{"allow_credential": true, "allow_origins": "http://a.com", "allow_methods": "GET", "allow_headers": "a", "expose_headers": "*"}`, "you can not set '*'"},
		{`{"allow_origins": "a.com"}`, `property "allow_origins" validation failed: failed to match pattern`},
		{`{"allow_origins_by_regex": ["(?<=x)"]}`, "RE2"},
	} {
		err := plugintest.Check("cors", tc.conf)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.conf, err, tc.want)
		}
	}
	if err := plugintest.Check("cors", `{"allow_credential": true, "allow_origins": "http://a.com", "allow_methods": "GET", "allow_headers": "a"}`); err != nil {
		t.Error(err)
	}
}

package proxyrewrite

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// APISIX's t/plugin/proxy-rewrite*.t cases, as the upstream request they
// produce (request line, then the fields plugins decide, sorted).
func TestRewriteAsAPISIX(t *testing.T) {
	for _, tc := range []struct {
		name, conf, req, want string
	}{
		{"rewrite host (TEST 6)", `{"uri": "/plugin_proxy_rewrite", "host": "apisix.iresty.com"}`,
			"GET /hello HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite\nhost: apisix.iresty.com\n"},
		{"legacy map sets (TEST 10)", `{"uri": "/uri/plugin_proxy_rewrite", "headers": {"X-Api-Version": "v2"}}`,
			"GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Api-Version: v1", "GET /uri/plugin_proxy_rewrite\nhost: localhost\nx-api-version: v2\n"},
		{"empty value removes (TEST 20)", `{"uri": "/uri/plugin_proxy_rewrite", "headers": {"X-Api-Engine": "APISIX", "X-Api-Test": ""}}`,
			"GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Api-Test: foo\r\nX-Api-Engine: bar", "GET /uri/plugin_proxy_rewrite\nhost: localhost\nx-api-engine: APISIX\n"},
		{"query kept (TEST 16)", `{"uri": "/plugin_proxy_rewrite_args"}`,
			"GET /hello?q=apisix&a=iresty HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite_args?q=apisix&a=iresty\nhost: localhost\n"},
		{"regex_uri (TEST 22)", `{"regex_uri": ["^/test/(.*)/(.*)/(.*)", "/$1_$2_$3"]}`,
			"GET /test/plugin/proxy/rewrite HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite\nhost: localhost\n"},
		{"uri wins over regex_uri (TEST 25)", `{"uri": "/hello", "regex_uri": ["^/test/(.*)", "/${1}1"]}`,
			"GET /test/hello HTTP/1.1\r\nHost: localhost", "GET /hello\nhost: localhost\n"},
		{"uri with its own query (TEST 34)", `{"uri": "/plugin_proxy_rewrite_args?q=apisix"}`,
			"GET /hello?a=iresty HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite_args?q=apisix&a=iresty\nhost: localhost\n"},
		{"variables in headers (TEST 37)", `{"uri": "/uri", "headers": {"x-api": "$remote_addr", "name": "$arg_name", "x-key": "$http_key"}}`,
			"GET /hello?name=Bill HTTP/1.1\r\nHost: localhost\r\nkey: X-APISIX", "GET /uri?name=Bill\nhost: localhost\nkey: X-APISIX\nname: Bill\nx-api: 127.0.0.1\nx-key: X-APISIX\n"},
		{"absent variables remove (TEST 39)", `{"uri": "/uri", "headers": {"x-api": "$helle", "name": "$arg_world", "x-key": "$http_key", "Version": "nginx_var_does_not_exist"}}`,
			"GET /hello HTTP/1.1\r\nHost: localhost", "GET /uri\nhost: localhost\nversion: nginx_var_does_not_exist\n"},
		{"uri from a variable (TEST 41)", `{"uri": "/$arg_new_uri"}`,
			"GET /test?new_uri=hello HTTP/1.1\r\nHost: localhost", "GET /hello?new_uri=hello\nhost: localhost\n"},
		{"host with port (TEST 44)", `{"uri": "/uri", "host": "test.com:6443"}`,
			"GET /hello HTTP/1.1\r\nHost: localhost", "GET /uri\nhost: test.com:6443\n"},
		{"unsafe keeps the raw query (TEST 46)", `{"uri": "/plugin_proxy_rewrite_args", "use_real_request_uri_unsafe": true}`,
			"GET /hello?q=apisix&a=iresty HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite_args?q=apisix&a=iresty\nhost: localhost\n"},
		{"unsafe merges queries (TEST 50)", `{"uri": "/plugin_proxy_rewrite_args?x=1", "use_real_request_uri_unsafe": true}`,
			"GET /hello?q=apisix HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite_args?x=1&q=apisix\nhost: localhost\n"},
		{"unsafe alone (TEST 52)", `{"use_real_request_uri_unsafe": true}`,
			"GET /plugin_proxy_rewrite_args?q=apisix HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite_args?q=apisix\nhost: localhost\n"},
		{"unsafe special characters (TEST 54)", `{"uri": "/print_uri_detailed", "use_real_request_uri_unsafe": true}`,
			"GET /hello?name=a%20b&x=%E4%B8%AD HTTP/1.1\r\nHost: localhost", "GET /print_uri_detailed?name=a%20b&x=%E4%B8%AD\nhost: localhost\n"},
		{"unsafe several '?' (TEST 55)", `{"uri": "/print_uri_detailed", "use_real_request_uri_unsafe": true}`,
			"GET /hello?a=1?b=2 HTTP/1.1\r\nHost: localhost", "GET /print_uri_detailed?a=1?b=2\nhost: localhost\n"},
		{"safe query kept (TEST 57)", `{"uri": "/print_uri_detailed"}`,
			"GET /hello?name=a%20b&x=1 HTTP/1.1\r\nHost: localhost", "GET /print_uri_detailed?name=a%20b&x=1\nhost: localhost\n"},
		{"set several values (TEST 59)", `{"uri": "/m", "headers": {"set": {"x-multi": ["val1", "val2"]}}}`,
			"GET /hello HTTP/1.1\r\nHost: localhost\r\nx-multi: origin", "GET /m\nhost: localhost\nx-multi: val1, val2\n"},
		{"add several values (TEST 61)", `{"uri": "/m", "headers": {"add": {"x-multi": ["val1", "val2"]}}}`,
			"GET /hello HTTP/1.1\r\nHost: localhost\r\nx-multi: origin", "GET /m\nhost: localhost\nx-multi: origin, val1, val2\n"},
		{"captures and variables per element (TEST 63)", `{"regex_uri": ["^/test/(.*)", "/m"], "headers": {"set": {"x-multi": ["cap-$1", "$http_x_src"]}}}`,
			"GET /test/echo HTTP/1.1\r\nHost: localhost\r\nx-src: from-src", "GET /m\nhost: localhost\nx-multi: cap-echo, from-src\nx-src: from-src\n"},
		{"CRLF in a reflected uri is encoded (TEST 66)", `{"regex_uri": ["^(/reflect.*)", "/print_request_received?orig=$1"]}`,
			"GET /reflect%0d%0aX-Injected:pwn HTTP/1.1\r\nHost: localhost", "GET /print_request_received?orig=/reflect%0D%0AX-Injected:pwn\nhost: localhost\n"},
		{"method (proxy-rewrite3 TEST 2)", `{"uri": "/plugin_proxy_rewrite", "method": "POST", "host": "apisix.iresty.com"}`,
			"GET /hello HTTP/1.1\r\nHost: localhost", "POST /plugin_proxy_rewrite\nhost: apisix.iresty.com\n"},
		{"unsafe alone keeps the raw path (3 TEST 9)", `{"use_real_request_uri_unsafe": true}`,
			"GET /print%5Furi%5Fdetailed HTTP/1.1\r\nHost: localhost", "GET /print%5Furi%5Fdetailed\nhost: localhost\n"},
		{"safe re-encodes the normalised path (3 TEST 43)", `{"use_real_request_uri_unsafe": false}`,
			"GET /print%5Furi%5Fdetailed HTTP/1.1\r\nHost: localhost", "GET /print_uri_detailed\nhost: localhost\n"},
		{"add, set, remove (3 TEST 15-18)", `{"headers": {"add": {"test": "123"}, "set": {"test2": "2233"}, "remove": ["hello"]}}`,
			"GET /echo HTTP/1.1\r\nHost: localhost\r\ntest: sssss\r\ntest: bbb\r\nhello: word", "GET /echo\nhost: localhost\ntest: sssss, bbb, 123\ntest2: 2233\n"},
		{"set wins over add (3 TEST 20)", `{"headers": {"add": {"test": "test_in_add"}, "set": {"test": "test_in_set"}}}`,
			"GET /echo HTTP/1.1\r\nHost: localhost", "GET /echo\nhost: localhost\ntest: test_in_set\n"},
		{"CRLF in the path stays encoded (3 TEST 22)", `{"host": "test.xxxx.com"}`,
			"GET /hello%3f0z=700%26a=c%20HTTP/1.1%0D%0AHost:google.com%0d%0a%0d%0a HTTP/1.1\r\nHost: localhost",
			"GET /hello%3F0z=700&a=c%20HTTP/1.1%0D%0AHost:google.com%0D%0A%0D%0A\nhost: test.xxxx.com\n"},
		{"a variable's '?' is no separator (3 TEST 24)", `{"uri": "/$uri/remain", "host": "test.xxxx.com"}`,
			"GET /hello%3f0z=700%26a=c%20HTTP/1.1%0D%0AHost:google.com%0d%0a%0d%0a HTTP/1.1\r\nHost: localhost",
			"GET //hello%253F0z=700&a=c%20HTTP/1.1%0D%0AHost:google.com%0D%0A%0D%0A/remain\nhost: test.xxxx.com\n"},
		{"regex_uri with args (3 TEST 26)", `{"regex_uri": ["^/test/(.*)/(.*)/(.*)", "/$1_$2_$3?a=c"]}`,
			"GET /test/plugin/proxy/rewrite HTTP/1.1\r\nHost: localhost", "GET /plugin_proxy_rewrite?a=c\nhost: localhost\n"},
		{"captures in headers (3 TEST 28)", `{"regex_uri": ["^/test/(.*)/(.*)/(.*)", "/echo"], "headers": {"add": {"X-Request-ID": "$1/$2/$3"}}}`,
			"GET /test/plugin/proxy/rewrite HTTP/1.1\r\nHost: localhost", "GET /echo\nhost: localhost\nx-request-id: plugin/proxy/rewrite\n"},
		{"no match, no captures (3 TEST 30)", `{"regex_uri": ["^/test/(.*)/(.*)/(.*)", "/echo"], "headers": {"add": {"X-Request-ID": "$1/$2/$3"}}}`,
			"GET /echo HTTP/1.1\r\nHost: localhost\r\nX-Foo: Foo", "GET /echo\nhost: localhost\nx-foo: Foo\nx-request-id: //\n"},
		{"unmatched group (3 TEST 32)", `{"regex_uri": ["^/test/(not_matched)?.*", "/echo"], "headers": {"add": {"X-Request-ID": "test1/$1/$2/test2"}}}`,
			"GET /test/plugin/proxy/rewrite HTTP/1.1\r\nHost: localhost", "GET /echo\nhost: localhost\nx-request-id: test1///test2\n"},
		{"first matching pair wins (3 TEST 39)", `{"regex_uri": ["^/test/(.*)/(.*)/(.*)/hello", "/hello/$1_$2_$3", "^/test/(.*)/(.*)/(.*)/world", "/world/$1_$2_$3"]}`,
			"GET /test/plugin/proxy/rewrite/world HTTP/1.1\r\nHost: localhost", "GET /world/plugin_proxy_rewrite\nhost: localhost\n"},
		{"unsafe regex_uri on the raw uri (3 TEST 41)", `{"regex_uri": ["/hello/(.+)", "/hello?unsafe_variable=$1"], "use_real_request_uri_unsafe": true}`,
			"GET /hello/%ED%85%8C%EC%8A%A4%ED%8A%B8 HTTP/1.1\r\nHost: localhost", "GET /hello?unsafe_variable=%ED%85%8C%EC%8A%A4%ED%8A%B8\nhost: localhost\n"},
		{"number values", `{"headers": {"X-Forwarded-Port": 10080}}`,
			"GET /echo HTTP/1.1\r\nHost: localhost", "GET /echo\nhost: localhost\nx-forwarded-port: 10080\n"},
		{"default with ??", `{"uri": "/x/${arg_v ?? none}"}`,
			"GET /a HTTP/1.1\r\nHost: localhost", "GET /x/none\nhost: localhost\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.Chain(t, "proxy-rewrite", tc.conf)
			c := plugintest.NewCtx(t, tc.req)
			if res := plugintest.Request(ch, c); res != reqctx.Continue {
				t.Fatalf("result %v", res)
			}
			if got := plugintest.UpstreamHead(c); got != tc.want {
				t.Fatalf("upstream request:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// Later plugins see the rewritten uri (proxy-rewrite TEST 43: ngx.var.uri
// after proxy-rewrite).
func TestLaterHooksSeeTheNewURI(t *testing.T) {
	ch := plugintest.Chain(t, "proxy-rewrite", `{"uri": "/uri", "host": "test.com:6443"}`)
	c := plugintest.NewCtx(t, "GET /hello HTTP/1.1\r\nHost: localhost")
	plugintest.Request(ch, c)
	if v, _ := c.Var("uri"); string(v) != "/uri" {
		t.Fatalf("$uri %q", v)
	}
}

// The Admin API's refusals (proxy-rewrite TEST 26-32, proxy-rewrite3 TEST 5).
func TestCheckRefusesAsAPISIX(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{`{"regex_uri": ["^/test/(.*)"]}`, `property "regex_uri" validation failed: expect array to have at least 2 items`},
		{`{"regex_uri": ["^/a", "/b", "^/c"]}`, "The length of regex_uri should be an even number"},
		{`{"regex_uri": ["[^/test/(.*)", "/$1"]}`, "invalid regex_uri([^/test/(.*), /$1): "},
		{`{"regex_uri": ["^/test/(.*)", "/$` + "`" + `1"]}`, "invalid capturing variable name found"},
		{`{"regex_uri": ["^/(?=x)", "/"]}`, "RE2"},
		{`{"uri": "hello"}`, `property "uri" validation failed: failed to match pattern "^\\/.*" with "hello"`},
		{`{"uri": "/u", "headers": {"X-Api:Version": "v2"}}`, "invalid field character"},
		{`{"uri": "/u", "headers": {"X-Api-Version": "v2\r\n"}}`, "invalid value character"},
		{`{"uri": "/u", "method": "GET1"}`, `property "method" validation failed: matches none of the enum values`},
		{`{"headers": {"set": {"a b": "x"}}}`, "invalid field character"},
	} {
		err := plugintest.Check("proxy-rewrite", tc.conf)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.conf, err, tc.want)
		}
	}
	for _, ok := range []string{`{"uri": "/apisix/home", "host": "apisix.iresty.com"}`, `{"host": "apisix.iresty.com:6443"}`} {
		if err := plugintest.Check("proxy-rewrite", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// A Host header in headers becomes the upstream Host, never a second Host.
func TestHostHeaderIsTheUpstreamHost(t *testing.T) {
	for _, conf := range []string{`{"headers": {"Host": "a.example"}}`, `{"headers": {"set": {"host": "a.example"}}}`} {
		ch := plugintest.Chain(t, "proxy-rewrite", conf)
		c := plugintest.NewCtx(t, "GET /x HTTP/1.1\r\nHost: localhost")
		plugintest.Request(ch, c)
		if h, ok := c.UpstreamHostOverride(); !ok || string(h) != "a.example" {
			t.Errorf("%s: upstream host %q %v", conf, h, ok)
		}
		if c.HasReqEdits() {
			t.Errorf("%s: Host also went out as an edit: %q", conf, c.AppendReqEdits(nil))
		}
	}
}

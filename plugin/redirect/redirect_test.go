package redirect

import (
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// APISIX's t/plugin/redirect.t cases: the status and Location answered.
func TestRedirectAsAPISIX(t *testing.T) {
	for _, tc := range []struct {
		name, conf, req string
		code            int
		loc             string
	}{
		{"static (TEST 4)", `{"uri": "/test/add", "ret_code": 301}`, "GET /hello HTTP/1.1\r\nHost: x", 301, "/test/add"},
		{"$uri (TEST 6)", `{"uri": "$uri/test/add", "ret_code": 301}`, "GET /hello HTTP/1.1\r\nHost: x", 301, "/hello/test/add"},
		{"${arg} (TEST 8)", `{"uri": "$uri/test/a${arg_name}c"}`, "GET /hello?name=json HTTP/1.1\r\nHost: x", 302, "/hello/test/ajsonc"},
		{"$$ (TEST 10)", `{"uri": "/foo$$uri"}`, "GET /hello?name=json HTTP/1.1\r\nHost: x", 302, "/foo$/hello"},
		{`\$ (TEST 12)`, `{"uri": "\\$uri/foo$uri\\$uri/bar", "ret_code": 301}`, "GET /hello HTTP/1.1\r\nHost: x", 301, `\$uri/foo/hello\$uri/bar`},
		{"absent variable (TEST 14)", `{"uri": "$uri/$bad_var/bar", "ret_code": 301}`, "GET /hello HTTP/1.1\r\nHost: x", 301, "/hello//bar"},
		{"https template (TEST 16)", `{"uri": "https://$host$request_uri", "ret_code": 301}`, "GET /hello HTTP/1.1\r\nHost: foo.com", 301, "https://foo.com/hello"},
		{"http_to_https (TEST 22)", `{"http_to_https": true}`, "GET /hello HTTP/1.1\r\nHost: foo.com", 301, "https://foo.com/hello"},
		{"http_to_https ignores ret_code (TEST 24)", `{"http_to_https": true, "ret_code": 302}`, "GET /hello HTTP/1.1\r\nHost: foo.com", 301, "https://foo.com/hello"},
		{"http_to_https POST (TEST 31)", `{"http_to_https": true, "ret_code": 307}`, "POST /hello-https HTTP/1.1\r\nHost: test.com\r\nContent-Length: 0", 308, "https://test.com/hello-https"},
		{"http_to_https HEAD (TEST 33)", `{"http_to_https": true}`, "HEAD /hello-https HTTP/1.1\r\nHost: test.com", 301, "https://test.com/hello-https"},
		{"http_to_https keeps the query", `{"http_to_https": true}`, "GET /a?b=1 HTTP/1.1\r\nHost: test.com", 301, "https://test.com/a?b=1"},
		{"regex_uri (TEST 35)", `{"regex_uri": ["^/test/(.*)", "http://test.com/${1}"], "ret_code": 301}`, "GET /test/1 HTTP/1.1\r\nHost: x", 301, "http://test.com/1"},
		{"encode_uri regex (TEST 38)", `{"regex_uri": ["^/test/(.*)", "http://test.com/${1}"], "ret_code": 301, "encode_uri": true}`, "GET /test/with%20space HTTP/1.1\r\nHost: x", 301, "http://test.com/with%20space"},
		{"encode_uri (TEST 40)", `{"uri": "$uri", "ret_code": 301, "encode_uri": true}`, "GET /hello/with%20space HTTP/1.1\r\nHost: x", 301, "/hello/with%20space"},
		{"encode_uri keeps the query", `{"uri": "$uri?a=b c", "encode_uri": true}`, "GET /h%20i HTTP/1.1\r\nHost: x", 302, "/h%20i?a=b c"},
		{"append_query_string (TEST 42)", `{"uri": "$uri", "append_query_string": true}`, "GET /hello?name=json HTTP/1.1\r\nHost: x", 302, "/hello?name=json"},
		{"append_query_string with '?' (TEST 44)", `{"uri": "$uri?type=string", "append_query_string": true}`, "GET /hello?name=json HTTP/1.1\r\nHost: x", 302, "/hello?type=string&name=json"},
		{"X-Forwarded-Proto http (TEST 46)", `{"http_to_https": true}`, "GET /hello HTTP/1.1\r\nHost: foo.com\r\nX-Forwarded-Proto: http", 301, "https://foo.com/hello"},
		{"X-Forwarded-Proto other (TEST 47)", `{"http_to_https": true}`, "GET /hello HTTP/1.1\r\nHost: foo.com\r\nX-Forwarded-Proto: any", 301, "https://foo.com/hello"},
		{"no CRLF in the Location", `{"uri": "$uri"}`, "GET /a%0d%0aSet-Cookie:x HTTP/1.1\r\nHost: x", 302, "/a%0D%0ASet-Cookie:x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.Chain(t, "redirect", tc.conf)
			c := plugintest.NewCtx(t, tc.req)
			if res := plugintest.Request(ch, c); res != reqctx.Stop {
				t.Fatalf("result %v", res)
			}
			exited, _, has, _ := c.Exited()
			loc, _ := c.RespHeader("Location")
			if !exited || has || c.Status != tc.code || string(loc) != tc.loc {
				t.Fatalf("exit %v (body %v) %d %q, want %d %q", exited, has, c.Status, loc, tc.code, tc.loc)
			}
		})
	}
}

// A request the plugin does not redirect goes on (TEST 36; https already).
func TestNoRedirect(t *testing.T) {
	for _, tc := range []struct{ conf, req string }{
		{`{"regex_uri": ["^/test/(.*)", "http://test.com/${1}"], "ret_code": 301}`, "GET /hello HTTP/1.1\r\nHost: x"},
		{`{"http_to_https": true}`, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: https"},
	} {
		ch := plugintest.Chain(t, "redirect", tc.conf)
		c := plugintest.NewCtx(t, tc.req)
		if res := plugintest.Request(ch, c); res != reqctx.Continue {
			t.Errorf("%s: %v", tc.conf, res)
		}
		if _, ok := c.RespHeader("Location"); ok {
			t.Errorf("%s: Location set", tc.conf)
		}
	}
}

func TestCheckRefusesAsAPISIX(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{`{"http_to_https": true, "uri": "/hello"}`, "value should match only one schema, but matches both schemas 1 and 3"},
		{`{"http_to_https": true, "append_query_string": true}`, "only one of `http_to_https` and `append_query_string` can be configured."},
		{`{"regex_uri": ["[", "/"]}`, "invalid regex_uri ([, /), err:"},
		{`{"uri": "/a", "ret_code": 100}`, `property "ret_code" validation failed`},
	} {
		err := plugintest.Check("redirect", tc.conf)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.conf, err, tc.want)
		}
	}
	for _, ok := range []string{`{"ret_code": 302, "uri": "/foo"}`, `{"uri": "/foo"}`} {
		if err := plugintest.Check("redirect", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

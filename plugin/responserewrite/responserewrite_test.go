package responserewrite

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

type exchange struct {
	name, conf, upstream string
	body                 []string // upstream body pieces
	status               int
	fields               []string // lines the answer must have
	absent               []string // field names it must not have
	want                 string   // the body the client gets
}

func run(t *testing.T, tc exchange) {
	t.Helper()
	ch := plugintest.Chain(t, "response-rewrite", tc.conf)
	c := plugintest.NewCtx(t, "GET /hello HTTP/1.1\r\nHost: x")
	plugintest.Request(ch, c)
	st, fields := plugintest.HeaderFilter(ch, c, plugintest.Upstream(t, c, tc.upstream), 0)
	body := strings.Join(tc.body, "")
	if c.BodyRewrite {
		body = plugintest.Body(ch, c, tc.body...)
	}
	ch.Log(c, nil)
	if st != tc.status {
		t.Errorf("status %d, want %d", st, tc.status)
	}
	for _, f := range tc.fields {
		if !strings.Contains(fields, f+"\n") {
			t.Errorf("no %q in\n%s", f, fields)
		}
	}
	for _, name := range tc.absent {
		if strings.Contains(fields, strings.ToLower(name)+":") {
			t.Errorf("%s present in\n%s", name, fields)
		}
	}
	if body != tc.want {
		t.Errorf("body %q, want %q", body, tc.want)
	}
}

const withHeader = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14"

// APISIX's t/plugin/response-rewrite*.t cases.
func TestResponseRewriteAsAPISIX(t *testing.T) {
	for _, tc := range []exchange{
		{name: "headers and body (TEST 5)", conf: `{"headers": {"X-Server-id": 3, "X-Server-status": "on", "Content-Type": ""}, "body": "new body\n"}`,
			upstream: withHeader, body: []string{"hello\nworld\n!\n"}, status: 200,
			fields: []string{"x-server-id: 3", "x-server-status: on"}, absent: []string{"Content-Type"}, want: "new body\n"},
		{name: "body drops cache and encoding fields (TEST 7)", conf: `{"body": "new body2\n"}`,
			upstream: "HTTP/1.1 200 OK\r\nX-Server-id: 100\r\nContent-Type: application/xml\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n" +
				"Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\nETag: \"33a64df5\"",
			body: []string{"abcd"}, status: 200, fields: []string{"x-server-id: 100", "content-type: application/xml"},
			absent: []string{"Content-Encoding", "Last-Modified", "ETag"}, want: "new body2\n"},
		{name: "302 with Location (TEST 9)", conf: `{"headers": {"Location": "https://www.iresty.com"}, "status_code": 302}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 302,
			fields: []string{"location: https://www.iresty.com"}, want: "hello world\n"},
		{name: "base64 body (TEST 13)", conf: `{"body": "SGVsbG8K", "body_base64": true}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: "Hello\n"},
		{name: "vars match (TEST 19)", conf: `{"body": "new body3\n", "status_code": 403, "vars": [["status","==",500]]}`,
			upstream: "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 26", body: []string{"500 Internal Server Error\n"}, status: 403, want: "new body3\n"},
		{name: "vars do not match (TEST 20)", conf: `{"body": "new body3\n", "status_code": 403, "vars": [["status","==",500]]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: "hello world\n"},
		{name: "header variables (TEST 24)", conf: `{"headers": {"X-A": "$remote_addr", "X-B": "from $remote_addr to $server_port"}}`,
			upstream: withHeader, body: []string{"hello\n"}, status: 200, fields: []string{"x-a: 127.0.0.1", "x-b: from 127.0.0.1 to 9080"}, want: "hello\n"},
		{name: "empty body (TEST 26)", conf: `{"body": ""}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: ""},
		{name: "add with one word (TEST 27)", conf: `{"headers": {"add": ["X-Server-test:a"]}}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 1", body: []string{"x"}, status: 200, fields: []string{"x-server-test: a"}, want: "x"},
		{name: "max_resp_body_size cuts (TEST 29)", conf: `{"max_resp_body_size": 5, "filters": [{"regex": "hello", "scope": "once", "replace": "HELLO"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hel", "lo world\n"}, status: 200, want: "HELLO"},
		{name: "filter (2 TEST 8)", conf: `{"vars": [["status","==",200]], "filters": [{"regex": "hello", "replace": "test"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello ", "world\n"}, status: 200, want: "test world\n"},
		{name: "global (2 TEST 10)", conf: `{"filters": [{"regex": "l", "replace": "t", "scope": "global"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: "hetto wortd\n"},
		{name: "replace with empty (2 TEST 12)", conf: `{"filters": [{"regex": "hello", "replace": ""}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: " world\n"},
		{name: "PCRE '$' (2 TEST 14)", conf: `{"filters": [{"regex": "\\w\\S+$", "replace": "*"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: "hello *\n"},
		{name: "filters in order (2 TEST 16)", conf: `{"filters": [{"regex": "hello", "replace": "HELLO"}, {"regex": "L", "replace": "T"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: "HETLO world\n"},
		{name: "no match (2 TEST 18)", conf: `{"filters": [{"regex": "test", "replace": "TEST"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 12", body: []string{"hello world\n"}, status: 200, want: "hello world\n"},
		{name: "add twice (2 TEST 21)", conf: `{"headers": {"add": ["Cache-Control: no-cache", "Cache-Control : max-age=0, must-revalidate"]}}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 1", body: []string{"x"}, status: 200, fields: []string{"cache-control: no-cache, max-age=0, must-revalidate"}, want: "x"},
		{name: "set wins (2 TEST 23)", conf: `{"headers": {"add": ["Cache-Control: no-cache"], "set": {"Cache-Control": "max-age=0, must-revalidate"}}}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 1", body: []string{"x"}, status: 200, fields: []string{"cache-control: max-age=0, must-revalidate"}, want: "x"},
		{name: "remove (2 TEST 25)", conf: `{"headers": {"add": ["Set-Cookie: <cookie-name>=<cookie-value>; Max-Age=<number>"], "set": {"Cache-Control": "max-age=0"}, "remove": ["Set-Cookie", "Cache-Control"]}}`,
			upstream: "HTTP/1.1 200 OK\r\nSet-Cookie: a=b\r\nContent-Length: 1", body: []string{"x"}, status: 200, absent: []string{"Set-Cookie", "Cache-Control"}, want: "x"},
		{name: "unsupported encoding, body (3 TEST 8)", conf: `{"vars": [["status","==",200]], "body": "new body\n"}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: 4", body: []string{"abcd"}, status: 200, absent: []string{"Content-Encoding"}, want: "new body\n"},
		{name: "unsupported encoding, filters (3 TEST 10)", conf: `{"filters": [{"regex": "hello", "replace": "test"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: 5", body: []string{"hello"}, status: 200, absent: []string{"Content-Encoding"}, want: "hello"},
		{name: "headers only keep the encoding (3 TEST 14)", conf: `{"headers": {"set": {"X-Server-id": 3, "Content-Type": ""}}}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Type: text/plain\r\nContent-Length: 4", body: []string{"abcd"}, status: 200,
			fields: []string{"content-encoding: deflate", "x-server-id: 3"}, absent: []string{"Content-Type"}, want: "abcd"},
		{name: "brotli is left alone by filters", conf: `{"filters": [{"regex": "a", "replace": "b"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 4", body: []string{"aaaa"}, status: 200, fields: []string{"content-encoding: br"}, want: "aaaa"},
		{name: "caseless option", conf: `{"filters": [{"regex": "HELLO", "replace": "bye", "options": "ijo"}]}`,
			upstream: "HTTP/1.1 200 OK\r\nContent-Length: 5", body: []string{"hello"}, status: 200, want: "bye"},
	} {
		t.Run(tc.name, func(t *testing.T) { run(t, tc) })
	}
}

// A gzip body is inflated, filtered and sent plain (response-rewrite3.t
// TEST 6).
func TestGzipBodyFiltered(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write([]byte("hello world\n"))
	_ = zw.Close()
	gz := z.String()
	run(t, exchange{conf: `{"vars": [["status","==",200]], "filters": [{"regex": "hello", "replace": "test"}]}`,
		upstream: "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 32", body: []string{gz[:10], gz[10:]},
		status: 200, absent: []string{"Content-Encoding"}, want: "test world\n"})
}

// A gateway answer (here the 404 page) is rewritten like an upstream's.
func TestGatewayAnswer(t *testing.T) {
	ch := plugintest.Chain(t, "response-rewrite", `{"status_code": 200, "body": "custom\n", "vars": [["status","==",404]]}`)
	c := plugintest.NewCtx(t, "GET /nope HTTP/1.1\r\nHost: x")
	st, _ := plugintest.HeaderFilter(ch, c, nil, 404)
	if !c.BodyRewrite || st != 200 {
		t.Fatalf("%d rewrite %v", st, c.BodyRewrite)
	}
	if got := plugintest.Body(ch, c, "{\"error_msg\":\"404 Route Not Found\"}\n"); got != "custom\n" {
		t.Fatalf("%q", got)
	}
}

// States are recycled per loop: a second request starts clean.
func TestStateRecycled(t *testing.T) {
	ch := plugintest.Chain(t, "response-rewrite", `{"filters": [{"regex": "a", "replace": "b", "scope": "global"}]}`)
	c := plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x")
	for _, in := range []string{"aaa", "xa"} {
		plugintest.Reset(t, c, "GET / HTTP/1.1\r\nHost: x")
		plugintest.HeaderFilter(ch, c, plugintest.Upstream(t, c, "HTTP/1.1 200 OK\r\nContent-Length: 3"), 0)
		got := plugintest.Body(ch, c, in)
		ch.Log(c, nil)
		if want := strings.ReplaceAll(in, "a", "b"); got != want {
			t.Fatalf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestCheckRefusesAsAPISIX(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{`{"status_code": 599}`, `property "status_code" validation failed: expected 599 to be at most 598`},
		{`{"body": 2}`, `property "body" validation failed: wrong type: expected string, got number`},
		{`{"headers": {"": 2}}`, "invalid field length in header"},
		{`{"headers": {"X:A": "v"}}`, "invalid field character in header"},
		{`{"headers": {"set": {"X A": "v"}}}`, "invalid field character in header"},
		{`{"body": "1", "body_base64": true}`, "invalid base64 content"},
		{`{"body": "", "body_base64": true}`, "invalid base64 content"},
		{`{"body_base64": true}`, "invalid base64 content"},
		{`{"vars": [[]]}`, "failed to validate the 'vars' expression: rule too short"},
		{`{"body": "test", "filters": [{"regex": "l", "replace": "m"}]}`, "failed to validate dependent schema for"},
		{`{"filters": []}`, `property "filters" validation failed: expect array to have at least 1 items`},
		{`{"filters": [{"regex": "l"}]}`, `property "filters" validation failed: failed to validate item 1: property "replace" is required`},
		{`{"filters": [{"regex": "", "replace": "m"}]}`, `property "regex" validation failed: string too short, expected at least 1, got 0`},
		{`{"filters": [{"regex": "l", "replace": "m", "scope": ""}]}`, `property "scope" validation failed: matches none of the enum values`},
		{`{"filters": [{"regex": "hello", "replace": "HELLO", "options": "h"}]}`, `regex "hello" validation failed: unknown flag "h" (flags "h")`},
		{`{"headers": {"add": ["headers:"]}}`, `property "headers" validation failed: object matches none of the required`},
	} {
		err := plugintest.Check("response-rewrite", tc.conf)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.conf, err, tc.want)
		}
	}
	for _, ok := range []string{`{"body": "Hello world", "headers": {"X-Server-id": 3}}`, `{"vars": [["status","==",200]]}`,
		`{"filters": [{"regex": "Hello", "scope": "global", "replace": "World", "options": "jo"}]}`} {
		if err := plugintest.Check("response-rewrite", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

func BenchmarkHeadersOnly(b *testing.B) {
	ch := plugintest.Chain(b, "response-rewrite", `{"headers": {"set": {"X-A": "$remote_addr", "X-B": "1"}}, "vars": [["status","==",200]]}`)
	c := plugintest.NewCtx(b, "GET / HTTP/1.1\r\nHost: x")
	replay := plugintest.Replay(b, c)
	b.ReportAllocs()
	for b.Loop() {
		replay()
		c.Status = 200
		ch.HeaderFilter(c, nil)
		ch.Log(c, nil)
	}
}

func BenchmarkFilters(b *testing.B) {
	ch := plugintest.Chain(b, "response-rewrite", `{"filters": [{"regex": "world", "replace": "there", "scope": "global"}]}`)
	c := plugintest.NewCtx(b, "GET / HTTP/1.1\r\nHost: x")
	replay := plugintest.Replay(b, c)
	body := []byte(strings.Repeat("hello world\n", 300))
	b.ReportAllocs()
	for b.Loop() {
		replay()
		c.Status = 200
		ch.HeaderFilter(c, nil)
		ch.BodyFilter(c, body[:1800], false, nil)
		ch.BodyFilter(c, body[1800:], true, nil)
		ch.Log(c, nil)
	}
}

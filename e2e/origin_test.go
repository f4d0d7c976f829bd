package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testOrigin is the Go twin of APISIX's test upstream (t/lib/server.lua),
// for the endpoints plugin tests lean on, so APISIX's test cases (request,
// expected status, headers and body) carry over directly:
//
//	/hello                       "hello world\n"
//	/hello1                      "hello1 world\n"
//	/hello_chunked               "hello world\n", chunked in three pieces
//	/server_port                 the listening port (no newline)
//	/status                      "ok\n"
//	/uri                         "uri: <path>\n", then "<name>: <value>\n" for each request
//	                             header, names lower-cased and sorted (X-Forwarded-* left out)
//	/old_uri                     as /uri, X-Forwarded-* included
//	/plugin_proxy_rewrite        "uri: <path>\nhost: <host>\nscheme: http\n"
//	/plugin_proxy_rewrite_args   "uri: <path>\n", then "<arg>: <value>\n" sorted
//	/headers?k=v                 response headers from the query, body "/headers\n"
//	/echo                        request headers copied to the response, body echoed
//	/with_header                 "hello\nworld\n!\n"
//	/mysleep?seconds=N           sleeps, then "N\n"
//	/server_error                500
//	/specific_status             status from the X-Test-Upstream-Status request header
//
// Any other path answers 404, as the Lua server does.
type testOrigin struct {
	addr string // host:port
	port int
}

func startOrigin(t testing.TB) *testOrigin {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &testOrigin{addr: ln.Addr().String(), port: ln.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(o.serve)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return o
}

func (o *testOrigin) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/hello":
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "hello world\n")
	case "/hello1":
		_, _ = io.WriteString(w, "hello1 world\n")
	case "/hello_chunked":
		for _, s := range []string{"hell", "o w", "orld\n"} {
			_, _ = io.WriteString(w, s)
			w.(http.Flusher).Flush()
		}
	case "/server_port":
		_, _ = io.WriteString(w, strconv.Itoa(o.port))
	case "/status":
		_, _ = io.WriteString(w, "ok\n")
	case "/uri", "/old_uri":
		fmt.Fprintf(w, "uri: %s\n", r.URL.Path)
		writeSortedHeaders(w, r, r.URL.Path == "/uri")
	case "/plugin_proxy_rewrite":
		host, _, _ := strings.Cut(r.Host, ":")
		fmt.Fprintf(w, "uri: %s\nhost: %s\nscheme: http\n", r.URL.Path, host)
	case "/plugin_proxy_rewrite_args":
		fmt.Fprintf(w, "uri: %s\n", r.URL.Path)
		q := r.URL.Query()
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range q {
				if !yield(k) {
					return
				}
			}
		}) {
			fmt.Fprintf(w, "%s: %s\n", k, strings.Join(q[k], ","))
		}
	case "/headers":
		for k, v := range r.URL.Query() {
			w.Header()[http.CanonicalHeaderKey(k)] = v
		}
		_, _ = io.WriteString(w, "/headers\n")
	case "/echo":
		for k, v := range r.Header {
			w.Header()[k] = v
		}
		_, _ = io.Copy(w, r.Body)
	case "/with_header":
		_, _ = io.WriteString(w, "hello\nworld\n!\n")
	case "/mysleep":
		secs, _ := strconv.ParseFloat(r.URL.Query().Get("seconds"), 64)
		time.Sleep(time.Duration(secs * float64(time.Second)))
		fmt.Fprintf(w, "%s\n", r.URL.Query().Get("seconds"))
	case "/server_error":
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "500 Internal Server Error\n")
	case "/specific_status":
		st, _ := strconv.Atoi(r.Header.Get("X-Test-Upstream-Status"))
		if st == 0 {
			st = 200
		}
		w.WriteHeader(st)
		_, _ = io.WriteString(w, "upstream status: "+strconv.Itoa(st)+"\n")
	default:
		http.NotFound(w, r)
	}
}

// writeSortedHeaders writes the request's headers as the Lua server does:
// lower-case names in order, one "name: value" line each (Host included).
func writeSortedHeaders(w io.Writer, r *http.Request, skipForwarded bool) {
	hdr := map[string]string{"host": r.Host}
	for k, v := range r.Header {
		k = strings.ToLower(k)
		if skipForwarded && strings.HasPrefix(k, "x-forwarded-") {
			continue
		}
		hdr[k] = strings.Join(v, ", ")
	}
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", k, hdr[k])
	}
}

// TestOriginAnswersAsAPISIXsTestServer pins the twin's answers the plugin
// tests rely on.
func TestOriginAnswersAsAPISIXsTestServer(t *testing.T) {
	o := startOrigin(t)
	get := func(path string) string {
		resp, err := http.Get("http://" + o.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for path, want := range map[string]string{
		"/hello":                             "hello world\n",
		"/server_port":                       strconv.Itoa(o.port),
		"/plugin_proxy_rewrite_args?b=2&a=1": "uri: /plugin_proxy_rewrite_args\na: 1\nb: 2\n",
	} {
		if got := get(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

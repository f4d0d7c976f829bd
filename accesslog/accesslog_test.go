package accesslog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
)

var limits = http1.Limits{}.WithDefaults()

// ctx is a finished request as the engine hands it to the access log.
func ctx(t testing.TB, loop *reqctx.Loop, head string) *reqctx.Ctx {
	t.Helper()
	c := &reqctx.Ctx{Loop: loop}
	c.RemoteText = []byte("127.0.0.1")
	c.Head = []byte(head)
	if err := c.Req.Parse(c.Head, &limits); err != nil {
		t.Fatal(err)
	}
	c.Begin(c.Req.Path.Of(c.Head), c.Req.HostName.Of(c.Head), time.Now().Add(-1200*time.Millisecond))
	return c
}

const getHello = "GET /hello?x=1 HTTP/1.1\r\nHost: gw.test:9080\r\nUser-Agent: curl/8.0\r\nReferer: http://a/\r\n\r\n"

func proxied(t testing.TB, loop *reqctx.Loop) *reqctx.Ctx {
	c := ctx(t, loop, getHello)
	c.AddAttempt("127.0.0.1:1980")
	c.FinishAttempt(200, 2*time.Millisecond)
	c.Status, c.BodyBytesSent, c.BytesSent = 200, 12, 150
	return c
}

var (
	timeLocal = `\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]`
	requestID = `"[0-9a-f]{32}"`
)

func TestDefaultFormatIsAPISIXs(t *testing.T) {
	f, err := Compile(DefaultFormat, EscapeDefault)
	if err != nil || len(f.Unknown()) > 0 {
		t.Fatal(err, f.Unknown())
	}
	st := newLineState([32]byte{1})
	for _, tc := range []struct {
		name string
		c    func() *reqctx.Ctx
		want string
	}{
		{"proxied", func() *reqctx.Ctx { return proxied(t, &reqctx.Loop{}) },
			`127.0.0.1 - - ` + timeLocal + ` gw.test:9080 "GET /hello\?x=1 HTTP/1.1" 200 12 1\.2\d\d "http://a/" "curl/8.0" ` +
				`127.0.0.1:1980 200 0\.002 "http://gw.test:9080" ` + requestID},
		{"404 without upstream", func() *reqctx.Ctx {
			c := ctx(t, &reqctx.Loop{}, "GET /nowhere HTTP/1.1\r\nHost: a\r\n\r\n")
			c.Status, c.BodyBytesSent = 404, 37
			return c
		}, `127.0.0.1 - - ` + timeLocal + ` a "GET /nowhere HTTP/1.1" 404 37 1\.2\d\d "-" "-" - - - "http://a" ` + requestID},
		{"502 after a refused connect", func() *reqctx.Ctx {
			c := ctx(t, &reqctx.Loop{}, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")
			c.AddAttempt("127.0.0.1:1")
			c.FinishAttempt(502, 0)
			c.Status = 502
			return c
		}, `127.0.0.1 - - ` + timeLocal + ` a "GET /hello HTTP/1.1" 502 0 1\.2\d\d "-" "-" 127\.0\.0\.1:1 502 0\.000 "http://a" ` + requestID},
		{"499, user, rewritten uri", func() *reqctx.Ctx {
			c := ctx(t, &reqctx.Loop{}, "GET /old HTTP/1.1\r\nHost: a\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n")
			c.SetURI([]byte("/new"))
			c.SetArgs([]byte("k=v"))
			c.SetUpstreamHost([]byte("up.test"))
			c.Status = 499
			return c
		}, `127.0.0.1 - foo ` + timeLocal + ` a "GET /old HTTP/1.1" 499 0 1\.2\d\d "-" "-" - - - "http://up.test/new\?k=v" ` + requestID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := string(f.Append(nil, tc.c(), st))
			if !regexp.MustCompile(`^` + tc.want + "\n$").MatchString(line) {
				t.Fatalf("line\n%q\ndoes not match\n%q", line, tc.want)
			}
		})
	}
}

func TestCombined(t *testing.T) {
	f, _ := Compile(CombinedFormat, EscapeDefault)
	line := string(f.Append(nil, proxied(t, &reqctx.Loop{}), newLineState([32]byte{})))
	want := `^127\.0\.0\.1 - - ` + timeLocal + ` "GET /hello\?x=1 HTTP/1\.1" 200 12 "http://a/" "curl/8\.0"` + "\n$"
	if !regexp.MustCompile(want).MatchString(line) {
		t.Fatalf("%q", line)
	}
}

// TestRemoteUser: $remote_user is the user of a Basic Authorization,
// decoded as nginx decodes (padding optional, input ends at '='), and "-"
// when there is none or it does not decode.
func TestRemoteUser(t *testing.T) {
	f, _ := Compile("$remote_user", EscapeDefault)
	for auth, want := range map[string]string{
		"Basic dXNlcjpwYXNz":       "user", // "user:pass"
		"basic   dXNlcjpw":         "user", // "user:p", unpadded, scheme in any case
		"Basic dXNlcjpw==garbage!": "user",
		"Basic dXNlcjpw!XNz":       "-", // a byte outside the alphabet
		"Basic dXNlcg==":           "-", // no ':'
		"Bearer dXNlcjpwYXNz":      "-",
	} {
		c := ctx(t, &reqctx.Loop{}, "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: "+auth+"\r\n\r\n")
		if got := string(f.Append(nil, c, newLineState([32]byte{}))); got != want+"\n" {
			t.Errorf("%q: %q, want %q", auth, got, want)
		}
	}
}

func TestEscapes(t *testing.T) {
	c := ctx(t, &reqctx.Loop{}, "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: a\"b\\c\xe9\tz\r\n\r\n")
	for esc, want := range map[Escape]string{
		EscapeDefault: `a\x22b\x5Cc\xE9\x09z|-|`,
		EscapeJSON:    "a\\\"b\\\\c\xe9\\tz||",
		EscapeNone:    "a\"b\\c\xe9\tz||",
	} {
		f, _ := Compile("$http_user_agent|$http_referer|$upstream_uri", esc)
		if got := string(f.Append(nil, c, newLineState([32]byte{}))); got != want+"\n" {
			t.Errorf("%v: %q, want %q", esc, got, want)
		}
	}
}

func TestEscapeControlBytes(t *testing.T) {
	v := []byte("\x01\x1f\n\r\b\f\x7f")
	if got := string((&Format{escape: EscapeJSON}).appendValue(nil, v, true)); got != `\u0001\u001f\n\r\b\f`+"\x7f" {
		t.Errorf("json: %q", got)
	}
	if got := string((&Format{}).appendValue(nil, v, true)); got != `\x01\x1F\x0A\x0D\x08\x0C\x7F` {
		t.Errorf("default: %q", got)
	}
}

// The JSON option is APISIX's: a JSON-shaped format with escape json.
func TestJSONLines(t *testing.T) {
	f, err := Compile(`{"remote_addr":"$remote_addr","request":"$request","status":$status,"ua":"$http_user_agent","upstream":"$upstream_addr","t":"${time_iso8601}"}`, EscapeJSON)
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t, &reqctx.Loop{}, "GET /q HTTP/1.1\r\nHost: a\r\nUser-Agent: say \"hi\"\r\n\r\n")
	c.Status = 404
	var v map[string]any
	line := f.Append(nil, c, newLineState([32]byte{}))
	if err := json.Unmarshal(line, &v); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if v["request"] != "GET /q HTTP/1.1" || v["status"] != float64(404) || v["ua"] != `say "hi"` || v["upstream"] != "" {
		t.Fatalf("%v", v)
	}
}

func TestCompile(t *testing.T) {
	f, err := Compile("$a_b-${c}x$$ $ $nope $request_method", EscapeNone)
	if err != nil {
		t.Fatal(err)
	}
	if u := strings.Join(f.Unknown(), ","); u != "a_b,c,nope" {
		t.Fatalf("unknown %s", u)
	}
	c := ctx(t, &reqctx.Loop{}, getHello)
	if got := string(f.Append(nil, c, newLineState([32]byte{}))); got != "-x$$ $  GET\n" {
		t.Fatalf("%q", got)
	}
	if _, err := Compile("${unclosed", EscapeDefault); err == nil {
		t.Fatal("unclosed ${ accepted")
	}
	if _, err := ParseEscape("xml"); err == nil {
		t.Fatal("bad escape accepted")
	}
}

func TestRing(t *testing.T) {
	r := newRing(10) // 16 bytes
	var out []byte
	for i, line := range []string{"aaaaa\n", "bbbbb\n", "cc\n"} {
		if _, ok := r.put([]byte(line)); !ok {
			t.Fatalf("line %d did not fit", i)
		}
	}
	if _, ok := r.put([]byte("dd\n")); ok || r.dropped.Load() != 1 {
		t.Fatal("a line that does not fit must be dropped and counted")
	}
	out = r.take(out)
	if string(out) != "aaaaa\nbbbbb\ncc\n" {
		t.Fatalf("%q", out)
	}
	// Wraps around the end.
	r.put([]byte("0123456789\n"))
	if got := string(r.take(nil)); got != "0123456789\n" {
		t.Fatalf("%q", got)
	}
	r.put([]byte("0123456789abcdef")) // exactly full
	if got := string(r.take(nil)); got != "0123456789abcdef" {
		t.Fatalf("full ring: %q", got)
	}
}

// syncBuf collects what the writer writes.
type syncBuf struct {
	mu      sync.Mutex // guards b
	b       bytes.Buffer
	entered chan struct{} // when set, told when a Write starts
	gate    chan struct{} // when set, each Write waits for it
	got     chan int      // when set, receives each write's size
}

func (s *syncBuf) Write(p []byte) (int, error) {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	n, err := s.b.Write(p)
	s.mu.Unlock()
	if s.got != nil {
		s.got <- len(p)
	}
	return n, err
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLoggerWritesEveryLoopsLines(t *testing.T) {
	out := &syncBuf{}
	l, err := New(Options{Out: out, Format: "$request_method $status $http_x_loop", Loops: 2, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for id := range 2 {
		c := ctx(t, &reqctx.Loop{ID: id}, "GET / HTTP/1.1\r\nHost: a\r\nX-Loop: "+string(rune('0'+id))+"\r\n\r\n")
		c.Status = 200
		l.Log(c)
	}
	if err := l.Close(); err != nil { // writes what is pending
		t.Fatal(err)
	}
	if got := out.String(); got != "GET 200 0\nGET 200 1\n" {
		t.Fatalf("%q", got)
	}
	l.Log(ctx(t, &reqctx.Loop{}, getHello)) // after Close: dropped, not written
	if l.Dropped() != 1 || strings.Count(out.String(), "\n") != 2 {
		t.Fatal("a line after Close")
	}
}

// A loop with a buffer's worth pending wakes the writer; a quiet loop's
// lines go out on the flush tick.
func TestWakesAndFlushes(t *testing.T) {
	out := &syncBuf{got: make(chan int, 16)}
	l, err := New(Options{Out: out, Format: "$request_method", BufferSize: 8, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := ctx(t, &reqctx.Loop{}, getHello)
	l.Log(c)
	l.Log(c) // "GET\nGET\n": 8 bytes pending
	if n := <-out.got; n != 8 {
		t.Fatalf("woke for %d bytes", n)
	}

	out2 := &syncBuf{got: make(chan int, 16)}
	l2, err := New(Options{Out: out2, Format: "$request_method", FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	l2.Log(c)
	if n := <-out2.got; n != 4 {
		t.Fatalf("flushed %d bytes", n)
	}
}

// A writer that cannot write does not hold the loop up: lines past the
// ring are dropped and counted, and the rest arrive once it can.
func TestSlowWriterDropsInsteadOfBlocking(t *testing.T) {
	out := &syncBuf{entered: make(chan struct{}, 4), gate: make(chan struct{})}
	var warnings syncBuf
	l, err := New(Options{Out: out, Format: "$request_method $status", RingSize: 64, BufferSize: 1,
		FlushInterval: time.Hour, DropReport: time.Millisecond, Logger: newTextLogger(&warnings)})
	if err != nil {
		t.Fatal(err)
	}
	c := ctx(t, &reqctx.Loop{}, getHello)
	c.Status = 200
	l.Log(c) // wakes the writer, which takes the line and blocks in Write
	<-out.entered
	for range 100 {
		l.Log(c) // "GET 200\n" is 8 bytes: 8 fit in the ring
	}
	if d := l.Dropped(); d != 92 {
		t.Fatalf("dropped %d, want 92", d)
	}
	close(out.gate)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "GET 200\n"); n != 9 {
		t.Fatalf("%d lines written, want 9", n)
	}
	if !strings.Contains(warnings.String(), "dropped=92") {
		t.Fatalf("drops not reported: %q", warnings.String())
	}
}

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

package ngxre

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileOptions(t *testing.T) {
	re, err := Compile("HELLO", "jo i")
	if err == nil {
		t.Fatalf("a space is not a flag: %v", re)
	}
	if _, err := Compile("hello", "h"); err == nil || err.Error() != `unknown flag "h" (flags "h")` {
		t.Fatalf("got %v", err)
	}
	re, err = Compile("hello", "ijo")
	if err != nil || !re.Match([]byte("HeLLo")) {
		t.Fatalf("caseless: %v", err)
	}
	re, err = Compile(" a b # comment\n c", "x")
	if err != nil || !re.Match([]byte("abc")) {
		t.Fatalf("extended: %v %v", re, err)
	}
	re, err = Compile("b", "a")
	if err != nil || re.Match([]byte("ab")) || !re.Match([]byte("ba")) {
		t.Fatalf("anchored: %v %v", re, err)
	}
	if _, err := Compile(`foo(?=bar)`, "jo"); err == nil || !strings.Contains(err.Error(), "RE2") {
		t.Fatalf("lookahead must be refused with a clear message, got %v", err)
	}
}

func TestReplacement(t *testing.T) {
	re, _ := Compile(`^/test/(.*)/(.*)/(.*)`, "jo")
	for _, tc := range []struct{ repl, want string }{
		{"/$1_$2_$3", "/plugin_proxy_rewrite"},
		{"/${1}1", "/plugin1"},
		{"$$1", "$1"},
		{"/$0", "//test/plugin/proxy/rewrite"},
		{"/$7", "/"},
	} {
		r, err := CompileReplacement(tc.repl)
		if err != nil {
			t.Fatalf("%q: %v", tc.repl, err)
		}
		got, ok := Sub(nil, []byte("/test/plugin/proxy/rewrite"), re, r)
		if !ok || string(got) != tc.want {
			t.Errorf("%q: %q %v, want %q", tc.repl, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"/$`1", "$", "$x", "${1"} {
		if _, err := CompileReplacement(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
	if _, err := CompileReplacement("/$`1"); !errors.Is(err, ErrBadReplacement) {
		t.Errorf("want ErrBadReplacement, got %v", err)
	}
}

func TestGSub(t *testing.T) {
	re, _ := Compile("l", "jo")
	r, _ := CompileReplacement("t")
	if got := string(GSub(nil, []byte("hello world\n"), re, r)); got != "hetto wortd\n" {
		t.Fatalf("got %q", got)
	}
	re, _ = Compile(`\w\S+$`, "jo")
	r, _ = CompileReplacement("*")
	if got, _ := Sub(nil, []byte("hello world"), re, r); string(got) != "hello *" {
		t.Fatalf("got %q", got)
	}
}

// PCRE's '$' also matches before a final newline (APISIX's
// response-rewrite2.t TEST 13).
func TestDollarBeforeFinalNewline(t *testing.T) {
	re, _ := Compile(`\w\S+$`, "jo")
	r, _ := CompileReplacement("*")
	if got, _ := Sub(nil, []byte("hello world\n"), re, r); string(got) != "hello *\n" {
		t.Fatalf("sub: %q", got)
	}
	if got := GSub(nil, []byte("hello world\n"), re, r); string(got) != "hello *\n" {
		t.Fatalf("gsub: %q", got)
	}
	if !re.Match([]byte("a world\n")) {
		t.Fatal("match")
	}
}

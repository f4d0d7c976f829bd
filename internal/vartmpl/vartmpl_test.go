package vartmpl

import (
	"regexp"
	"testing"

	"github.com/sluicegw/sluice/expr"
)

// mapVars serves variables by raw name.
type mapVars map[string]string

func (m mapVars) Value(v *expr.Var) ([]byte, bool) {
	s, ok := m[v.Raw]
	return []byte(s), ok
}

var vars = mapVars{"uri": "/hello", "remote_addr": "127.0.0.1", "arg_name": "Bill", "empty": "", "q": "a?b"}

func TestResolveVar(t *testing.T) {
	for _, tc := range []struct{ tpl, want string }{
		{"/plain", "/plain"},
		{"$uri", "/hello"},
		{"${uri}/x", "/hello/x"},
		{"${ uri }/x", "/hello/x"},
		{"from $remote_addr:$nope!", "from 127.0.0.1:!"},
		{"${nope ?? fallback}", "fallback"},
		{"${empty ?? fallback}", ""},
		{"${uri??d}", "/hello"},
		{`\$uri`, `\$uri`},
		{"$", "$"},
		{"a$-b", "a$-b"},
		{"${unclosed", "${unclosed"},
		{"$arg_name.json", ""}, // '.' is part of the name, as in APISIX
		{"$1", ""},             // without captures, a variable named "1"
	} {
		if got := string(Compile(tc.tpl, false).Append(nil, vars, nil, nil)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.tpl, got, tc.want)
		}
	}
}

// TestAppendCountCountsDefaults follows utils.lua's resolve_var: a variable
// that fell back to its "?? default" counts as resolved, one absent without
// a default does not (chash's vars_combinations turns on that count).
func TestAppendCountCountsDefaults(t *testing.T) {
	for _, c := range []struct {
		tpl  string
		want string
		n    int
	}{
		{"${nope ?? d}", "d", 1},
		{"$nope-$nope2", "-", 0},
		{"$uri-${nope ?? x}-$nope", "/hello-x-", 2},
	} {
		got, n := Compile(c.tpl, false).AppendCount(nil, vars, nil, nil)
		if string(got) != c.want || n != c.n {
			t.Errorf("%q: %q, %d; want %q, %d", c.tpl, got, n, c.want, c.n)
		}
	}
}

func TestCaptures(t *testing.T) {
	re := regexp.MustCompile(`^/test/(.*)/(.*)/(not)?`)
	subj := []byte("/test/a/b/")
	caps := &Captures{Subject: subj, Index: re.FindSubmatchIndex(subj)}
	for _, tc := range []struct{ tpl, want string }{
		{"$1/$2", "a/b"},
		{"${1}1", "a1"},
		{"x$3y", "xy"}, // unmatched group
		{"$9", ""},     // no such group
		{"$12z", "z"},  // digits are greedy
		{"$1-$uri", "a-/hello"},
		{`\$1`, `\$1`},
	} {
		if got := string(Compile(tc.tpl, true).Append(nil, vars, caps, nil)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.tpl, got, tc.want)
		}
	}
	if got := string(Compile("$1", true).Append(nil, vars, nil, nil)); got != "" {
		t.Errorf("no match: got %q", got)
	}
}

func TestEscaperAppliesToValuesOnly(t *testing.T) {
	got := string(Compile("/x?$q&${nope??c?d}", false).Append(nil, vars, nil, EscapeSeparator))
	if want := "/x?a%3Fb&c%3Fd"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRedirectTemplate(t *testing.T) {
	for _, tc := range []struct{ tpl, want string }{
		{"/test/add", "/test/add"},
		{"$uri/test/add", "/hello/test/add"},
		{"$uri/test/a${arg_name}c", "/hello/test/aBillc"},
		{"/foo$$uri", "/foo$/hello"},
		{`\$uri/foo$uri\$uri/bar`, `\$uri/foo/hello\$uri/bar`},
		{"$uri/$bad_var/bar", "/hello//bar"},
		{`a\b`, "ab"},
	} {
		if got := string(CompileRedirect(tc.tpl).Append(nil, vars, nil, nil)); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.tpl, got, tc.want)
		}
	}
}

func TestEscapes(t *testing.T) {
	if got := string(AppendEscapedURI(nil, []byte("/hello?0z=700&a=c HTTP/1.1\r\n%é#"))); got != "/hello%3F0z=700&a=c%20HTTP/1.1%0D%0A%25%C3%A9%23" {
		t.Errorf("uri: %q", got)
	}
	if got := string(AppendEscapedControls(nil, []byte("?a=b\r\n c\x7f"))); got != "?a=b%0D%0A c%7F" {
		t.Errorf("controls: %q", got)
	}
	if got := string(AppendEscapedComponent(nil, "a b/c?~é")); got != "a%20b%2Fc%3F~%C3%A9" {
		t.Errorf("component: %q", got)
	}
	for s, want := range map[string]bool{"": false, "a b~": false, "a\tb": true, "\x00": true, "x\x7f": true, "é": false} {
		if HasControl([]byte(s)) != want {
			t.Errorf("HasControl(%q) = %v, want %v", s, !want, want)
		}
	}
}

func TestAppendAllocatesNothing(t *testing.T) {
	tp := Compile("/$uri/${nope??d}/$remote_addr", false)
	v := lookupVars{}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = tp.Append(buf[:0], v, nil, EscapeSeparator) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

// lookupVars answers from constants, without allocating.
type lookupVars struct{}

var val = []byte("v?x")

func (lookupVars) Value(v *expr.Var) ([]byte, bool) { return val, v.Raw != "nope" }

func TestLuaString(t *testing.T) {
	for in, want := range map[any]string{3.0: "3", 3.5: "3.5", 1e20: "1e+20", "x": "x", 10080.0: "10080"} {
		if got, ok := LuaString(in); !ok || got != want {
			t.Errorf("%v: %q", in, got)
		}
	}
	if _, ok := LuaString(true); ok {
		t.Error("bool accepted")
	}
}

func TestAppendUnescapedComponent(t *testing.T) {
	for in, want := range map[string]string{
		"a%20b+c":            "a b c",
		"%zz%41":             "%zzA",
		"100%":               "100%",
		"%4":                 "%4",
		"%4g%41":             "%4gA",
		"%e4%BD%a0":          "你",
		"plain":              "plain",
		"%%41":               "%A",
		"a%2Bb":              "a+b",
		"%0":                 "%0",
		"%41%4":              "A%4",
		"trailing%2":         "trailing%2",
		"%F0%9F%98%80 smile": "😀 smile",
	} {
		if got := string(AppendUnescapedComponent([]byte("x:"), []byte(in))); got != "x:"+want {
			t.Errorf("%q: %q, want %q", in, got, "x:"+want)
		}
	}
}

package ratelimit

import (
	"fmt"
	"hash/crc32"
	"strconv"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
)

func request(t *testing.T, headers string) *reqctx.Ctx {
	t.Helper()
	c := plugintest.NewCtx(t, "GET /hello?user=jack HTTP/1.1\r\nHost: test\r\n"+headers)
	plugintest.SetRemote(c, "10.0.0.1")
	return c
}

// APISIX core.utils.resolve_var, as t/core/utils.t exercises it.
func TestTemplateResolvesAsAPISIX(t *testing.T) {
	c := request(t, "X-A: a\r\nX-Empty: \r\n")
	for _, tc := range []struct {
		tpl  string
		want string
		n    int
	}{
		{"$http_x_a $http_x_b", "a ", 1},
		{"${http_x_a}-${ http_x_a }", "a-a", 2},
		{"${http_x_b ?? dflt}", "dflt", 1},
		{"${http_x_b??d1??d2}", "d1", 1},
		{"${http_x_b}", "", 0},
		{"$arg_user-$host", "jack-test", 2},
		{"$arg_user.$host", "test", 1}, // the name takes the dot: "arg_user." is no variable
		{`\$http_x_a`, `\$http_x_a`, 0},
		{"$", "$", 0},
		{"${}", "${}", 0},
		{"${unclosed", "${unclosed", 0},
		{"plain", "plain", 0},
		{"$http_x_empty|", "|", 1},
		{"$remote_addr:$unknown_var", "10.0.0.1:", 1},
	} {
		got, n := vartmpl.Compile(tc.tpl, false).AppendCount(nil, c, nil, nil)
		if string(got) != tc.want || n != tc.n {
			t.Errorf("%q: %q (%d resolved), want %q (%d)", tc.tpl, got, n, tc.want, tc.n)
		}
	}
}

func TestKeyFallsBackToTheClientAddress(t *testing.T) {
	c := request(t, "X-A: a\r\n")
	for _, tc := range []struct {
		typ       KeyType
		key, want string
	}{
		{KeyVar, "http_x_a", "a"},
		{KeyVar, "http_x_b", "10.0.0.1"},
		{KeyVar, "remote_addr", "10.0.0.1"},
		{KeyVarCombination, "$http_x_a $http_x_b", "a "},
		{KeyVarCombination, "$http_x_b $http_x_c", "10.0.0.1"},
		{KeyVarCombination, "no vars", "10.0.0.1"},
		{KeyConstant, "$http_x_a", "$http_x_a"},
	} {
		k := CompileKey(tc.typ, tc.key)
		if got := string(k.Append(nil, c)); got != tc.want {
			t.Errorf("%v %q: %q, want %q", tc.typ, tc.key, got, tc.want)
		}
	}
}

// A rules entry's key has no fallback: resolving nothing, it does not apply.
func TestRuleKeys(t *testing.T) {
	c := request(t, "X-A: a\r\n")
	own := OwnKey(CompileKey(KeyVar, "http_x_b"))
	if got, ok := own.Append([]byte("p:"), c); !ok || string(got) != "p:10.0.0.1" {
		t.Fatalf("own key: %q %v", got, ok)
	}
	entry := EntryKey("${http_x_a}")
	if got, ok := entry.Append([]byte("p:"), c); !ok || string(got) != "p:a" {
		t.Fatalf("entry key: %q %v", got, ok)
	}
	absent := EntryKey("${http_x_b}")
	if got, ok := absent.Append([]byte("p:"), c); ok || string(got) != "p:" {
		t.Fatalf("unresolved entry key: %q %v", got, ok)
	}
}

func TestValues(t *testing.T) {
	c := request(t, "X-N: 7\r\n")
	double := func(b []byte) (int64, bool) {
		n, err := strconv.ParseInt(string(b), 10, 64)
		return 2 * n, err == nil
	}
	for raw, want := range map[string]int64{`3`: 3, `"${http_x_n}"`: 14, `"${http_x_m ?? 4}"`: 8} {
		v, err := ParseValue([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		if got, _, ok := v.Resolve(c, nil, double); !ok || got != want {
			t.Errorf("%s: %d %v, want %d", raw, got, ok, want)
		}
	}
	if _, err := ParseValue([]byte(`1.5`)); err == nil {
		t.Error("1.5 accepted")
	}
}

func TestPrefix(t *testing.T) {
	if got := string(Prefix("/apisix/routes/1", false, "", []byte(`{"count":1}`))); got != fmt.Sprintf("/apisix/routes/1:%d:", crc32.ChecksumIEEE([]byte(`{"count":1}`))) {
		t.Fatalf("prefix %q", got)
	}
	if got := string(Prefix("/apisix/routes/1", true, "g", nil)); got != "g:" {
		t.Fatalf("group prefix %q", got)
	}
}

func TestRejectBodyIsCJSON(t *testing.T) {
	for msg, want := range map[string]string{
		"":                     "",
		"Too many requests":    `{"error_msg":"Too many requests"}` + "\n",
		`a/b "q" <tag> & \ é`:  `{"error_msg":"a\/b \"q\" <tag> & \\ é"}` + "\n",
		"tab\tnl\nctl\x01\x7f": `{"error_msg":"tab\tnl\nctl\u0001\u007f"}` + "\n",
	} {
		if got := string(RejectBody(msg)); got != want {
			t.Errorf("%q: %s, want %s", msg, got, want)
		}
	}
}

func TestDelayIsBounded(t *testing.T) {
	var jobs []reqctx.Job
	var c reqctx.Ctx
	for range MaxDelayed {
		if _, ok := Delay(&c, time.Millisecond); !ok {
			t.Fatal("refused below the bound")
		}
		jobs = append(jobs, c.TakeParked())
	}
	if _, ok := Delay(&c, time.Millisecond); ok {
		t.Fatal("delayed past the bound")
	}
	// The engine resumes every job exactly once, run or not.
	for _, j := range jobs {
		j.Resume(nil)
	}
	if _, ok := Delay(&c, time.Millisecond); !ok {
		t.Fatal("slots not given back")
	}
	c.TakeParked().Resume(nil)
}

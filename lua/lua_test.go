package lua

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// request returns a request context for head, on loop l.
func request(t testing.TB, l *reqctx.Loop, head string) *reqctx.Ctx {
	t.Helper()
	c := &reqctx.Ctx{Loop: l}
	c.Head = append(c.Head[:0], head...)
	lim := http1.Limits{}.WithDefaults()
	if err := c.Req.Parse(c.Head, &lim); err != nil {
		t.Fatal(err)
	}
	c.Begin(c.Req.Path.Of(c.Head), []byte(strings.ToLower(string(c.Req.HostName.Of(c.Head)))), time.Now())
	c.RouteID = "r1"
	c.RemoteText = []byte("127.0.0.1")
	return c
}

func runtime(t testing.TB, budget time.Duration) (*Runtime, *VM, *reqctx.Loop) {
	t.Helper()
	rt := NewRuntime(Options{Budget: budget})
	t.Cleanup(rt.Close)
	l := &reqctx.Loop{}
	return rt, rt.VM(l), l
}

func mustFunc(t testing.TB, src string) *Func {
	t.Helper()
	f, err := CompileFunc("test", src)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const getHead = "GET /p?a=1&b=x%20y&a=2 HTTP/1.1\r\nHost: Example.com\r\nX-A: hello\r\nCookie: s=42\r\n\r\n"

func TestCompileFuncSpeaksAPISIX(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"local x = 1", "only accept Lua function, the input code type is nil"},
		{"return 1", "only accept Lua function, the input code type is number"},
		{"return function(", "failed to loadstring"},
	} {
		if _, err := CompileFunc("f", tc.src); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, err, tc.want)
		}
	}
	if _, err := CompileFunc("f", "return function(conf, ctx) end"); err != nil {
		t.Fatal(err)
	}
	if _, err := CompileFilter("function(vars) return vars.arg_a == '1' end"); err != nil {
		t.Fatal(err)
	}
}

func TestHookOutcomes(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	for _, tc := range []struct {
		name, src string
		res       reqctx.Result
		status    int
		body      string
	}{
		{"continue", `return function(conf, ctx) end`, reqctx.Continue, 0, ""},
		{"code and string", `return function(conf, ctx) return 403, "no\n" end`, reqctx.Stop, 403, "no\n"},
		{"code and table", `return function(conf, ctx) return 401, {message = "who"} end`, reqctx.Stop, 401, "{\"message\":\"who\"}\n"},
		{"code only: error page", `return function(conf, ctx) return 404 end`, reqctx.Stop, 404, ""},
		{"ngx.say then exit", `return function(conf, ctx) ngx.say("hi ", conf.name); ngx.exit(200) end`, reqctx.Stop, 200, "hi bob\n"},
		{"ngx.exit(ngx.OK) continues", `return function() ngx.exit(ngx.OK) end`, reqctx.Continue, 0, ""},
		{"core.response.exit", `local core = require("apisix.core") return function() core.response.exit(429, {error_msg = "slow down"}) end`, reqctx.Stop, 429, "{\"error_msg\":\"slow down\"}\n"},
		{"runtime error", `return function() local x = nil; return x.y end`, reqctx.Stop, 500, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := request(t, l, getHead)
			conf, _ := NewConf([]byte(`{"name": "bob"}`))
			res := vm.RunHook(c, "access", mustFunc(t, tc.src), "", conf)
			_, body, has, _ := c.Exited()
			if res != tc.res || c.Status != tc.status || string(body) != tc.body || (tc.body != "" && !has) {
				t.Fatalf("%v %d %q (has=%v), want %v %d %q", res, c.Status, body, has, tc.res, tc.status, tc.body)
			}
		})
	}
}

func TestRequestAPI(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	c := request(t, l, getHead)
	f := mustFunc(t, `
local core = require("apisix.core")
local cjson = require("cjson.safe")
return function(conf, ctx)
	local args = ngx.req.get_uri_args()
	local h = ngx.req.get_headers()
	local parts = {
		ngx.var.uri, ngx.var.host, ngx.var.arg_a, ngx.var.cookie_s, ngx.var.http_x_a, ctx.var.remote_addr or "-",
		tostring(args.a[1]) .. tostring(args.a[2]), args.b, h["x-a"], core.request.header(ctx, "X-A"),
		ngx.req.get_method(), ctx.route_id, ngx.encode_base64("hi"), ngx.md5("x"), cjson.encode({1, 2}),
		-- nginx's decoder: padding optional, input ends at '=', CR/LF refused
		ngx.decode_base64("aGk") .. ngx.decode_base64("YQ=") .. ngx.decode_base64("YQ==junk") .. tostring(ngx.decode_base64("aG\nk=")),
	}
	ngx.req.set_header("X-Added", "1")
	ngx.req.clear_header("X-A")
	ngx.req.set_uri("/new")
	ngx.header["X-Resp"] = "yes"
	ngx.ctx.seen = true
	ctx.my_field = "kept"
	local m = ngx.re.match("abc123", [[([a-z]+)(\d+)]], "jo")
	parts[#parts + 1] = m[1] .. ":" .. m[2]
	parts[#parts + 1] = (ngx.re.gsub("a-b-c", "-", "+"))
	return 200, table.concat(parts, "|")
end`)
	if res := vm.RunHook(c, "access", f, "", nil); res != reqctx.Stop {
		t.Fatalf("result %v", res)
	}
	_, body, _, _ := c.Exited()
	want := "/p|example.com|1|42|hello|127.0.0.1|12|x y|hello|hello|GET|r1|aGk=|9dd4e461268c8034f5c8564e155c67a6|[1,2]|hiaanil|abc:123|a+b+c"
	if string(body) != want {
		t.Fatalf("body\n %q\nwant\n %q", body, want)
	}
	if v, ok := c.Header("X-Added"); !ok || string(v) != "1" {
		t.Fatal("set_header did not apply")
	}
	if _, ok := c.Header("X-A"); ok {
		t.Fatal("clear_header did not apply")
	}
	if string(c.URI()) != "/new" {
		t.Fatalf("uri %q", c.URI())
	}
	if v, ok := c.RespHeader("X-Resp"); !ok || string(v) != "yes" {
		t.Fatal("ngx.header did not apply")
	}
	// ngx.ctx and ctx fields live as long as the request, across calls.
	g := mustFunc(t, `return function(conf, ctx) return 200, tostring(ngx.ctx.seen) .. ctx.my_field end`)
	vm.RunHook(c, "log", g, "", nil)
	if _, body, _, _ := c.Exited(); string(body) != "truekept" {
		t.Fatalf("per-request state: %q", body)
	}
	// ... and no longer.
	c.Reset()
	c2 := request(t, l, getHead)
	vm.RunHook(c2, "access", mustFunc(t, `return function(conf, ctx) return 200, tostring(ngx.ctx.seen) .. tostring(ctx.my_field) end`), "", nil)
	if _, body, _, _ := c2.Exited(); string(body) != "nilnil" {
		t.Fatalf("state leaked into the next request: %q", body)
	}
}

func TestSandboxRefuses(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	for _, src := range []string{
		`os.execute("true")`, `io.open("/etc/passwd")`, `require("os")`, `load("return 1")`, `loadstring("return 1")`,
		`dofile("/etc/passwd")`, `string.rep("x", 1e9)`, `debug.getinfo(1)`, `ngx.sleep(1)`, `ngx.socket.tcp()`,
		`package.loadlib("x", "y")`, `require("apisix.core").config.get()`, `ngx.no_such_api()`,
	} {
		c := request(t, l, getHead)
		f := mustFunc(t, "return function() "+src+" end")
		if res := vm.RunHook(c, "access", f, "", nil); res != reqctx.Stop || c.Status != 500 {
			t.Errorf("%s: %v %d, want refused with 500", src, res, c.Status)
		}
	}
}

// A runaway script is stopped at its budget with 500, and the VM keeps
// working.
func TestBudgetStopsRunawayCode(t *testing.T) {
	_, vm, l := runtime(t, 50*time.Millisecond)
	c := request(t, l, getHead)
	start := time.Now()
	res := vm.RunHook(c, "access", mustFunc(t, `return function() while true do end end`), "", nil)
	if took := time.Since(start); res != reqctx.Stop || c.Status != 500 || took > 5*time.Second {
		t.Fatalf("%v %d after %v", res, c.Status, took)
	}
	c = request(t, l, getHead)
	if res := vm.RunHook(c, "access", mustFunc(t, `return function() return 201 end`), "", nil); res != reqctx.Stop || c.Status != 201 {
		t.Fatalf("the VM does not work after a stopped call: %v %d", res, c.Status)
	}
}

func TestFilterFunc(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	f, err := CompileFilter(`function(vars) return vars.arg_a == "1" and vars.http_x_a == "hello" end`)
	if err != nil {
		t.Fatal(err)
	}
	if !vm.Match(request(t, l, getHead), f) {
		t.Fatal("no match")
	}
	if vm.Match(request(t, l, "GET /p?a=2 HTTP/1.1\r\nHost: h\r\n\r\n"), f) {
		t.Fatal("matched")
	}
}

// Closures keep state per VM: a counter in a serverless function counts.
func TestClosuresKeepState(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	f := mustFunc(t, `local n = 0 return function() n = n + 1 return 200, tostring(n) end`)
	for i := 1; i <= 3; i++ {
		c := request(t, l, getHead)
		vm.RunHook(c, "access", f, "", nil)
		if _, body, _, _ := c.Exited(); string(body) != string(rune('0'+i)) {
			t.Fatalf("call %d: %q", i, body)
		}
	}
}

func TestBodyFilter(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	c := request(t, l, getHead)
	f := mustFunc(t, `return function() if ngx.arg[2] then ngx.arg[1] = ngx.arg[1] .. "!" else ngx.arg[1] = string.upper(ngx.arg[1]) end end`)
	if out := vm.RunBodyFilter(c, f, "", nil, []byte("abc"), false); string(out) != "ABC" {
		t.Fatalf("%q", out)
	}
	if out := vm.RunBodyFilter(c, f, "", nil, nil, true); string(out) != "!" {
		t.Fatalf("%q", out)
	}
}

func TestSchemaCheck(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	f := mustFunc(t, `
local core = require("apisix.core")
local schema = {type = "object", properties = {n = {type = "integer", minimum = 1}, d = {type = "string", default = "x"}}}
return function(conf)
	local ok, err = core.schema.check(schema, conf)
	if not ok then return 400, err end
	return 200, conf.d
end`)
	for conf, want := range map[string]string{`{"n": 0}`: `property "n" validation failed`, `{"n": 2}`: "x"} {
		c := request(t, l, getHead)
		cf, _ := NewConf([]byte(conf))
		vm.RunHook(c, "access", f, "", cf)
		if _, body, _, _ := c.Exited(); !strings.Contains(string(body), want) {
			t.Errorf("%s: %q, want %q", conf, body, want)
		}
	}
}

// TestSetURIArgs: ngx.req.set_uri_args and core.request.set_uri_args take
// a string, a number or a table, and raise (the request fails with 500) on
// anything else, as lua-nginx-module does.
func TestSetURIArgs(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	for src, want := range map[string]string{
		`ngx.req.set_uri_args("a=1&b")`:                "a=1&b",
		`ngx.req.set_uri_args(ngx.escape_uri("a 你~"))`: "a%20%E4%BD%A0~",
		`ngx.req.set_uri_args(42)`:                     "42",
		`require("apisix.core").request.set_uri_args(ctx, {b = "x y", a = true, c = false, d = {1, "2/"}})`: "a&b=x%20y&d=1&d=2%2F",
		`require("apisix.core").request.set_uri_args(ctx, 7)`:                                               "7",
	} {
		c := request(t, l, getHead)
		f := mustFunc(t, "return function(conf, ctx) "+src+" end")
		if res := vm.RunHook(c, "access", f, "", nil); res == reqctx.Stop || string(c.Args()) != want {
			t.Errorf("%s: %v, args %q, want %q", src, res, c.Args(), want)
		}
	}
	for _, src := range []string{`ngx.req.set_uri_args(true)`, `ngx.req.set_uri_args(nil)`,
		`require("apisix.core").request.set_uri_args(ctx, false)`} {
		c := request(t, l, getHead)
		before := string(c.Args())
		f := mustFunc(t, "return function(conf, ctx) "+src+" end")
		if res := vm.RunHook(c, "access", f, "", nil); res != reqctx.Stop || c.Status != 500 || string(c.Args()) != before {
			t.Errorf("%s: %v %d, args %q: want a 500 and the args unchanged", src, res, c.Status, c.Args())
		}
	}
}

// ngx.unescape_uri and get_uri_args decode as lua-nginx-module does: an
// invalid escape stays as it is and the valid ones around it are decoded
// (url.QueryUnescape gave up on the whole string).
func TestUnescapeKeepsInvalidEscapes(t *testing.T) {
	_, vm, l := runtime(t, time.Second)
	c := request(t, l, getHead)
	f := mustFunc(t, `
return function(conf, ctx)
	ngx.req.set_uri_args("a=%zz%41&b=1+2&c%5F=%E4%BD%A0")
	local args = ngx.req.get_uri_args()
	return 200, ngx.unescape_uri("%zz%41+x%4") .. "|" .. args.a .. "|" .. args.b .. "|" .. args["c_"]
end`)
	if res := vm.RunHook(c, "access", f, "", nil); res != reqctx.Stop {
		t.Fatalf("result %v", res)
	}
	_, body, _, _ := c.Exited()
	if want := "%zzA x%4|%zzA|1 2|你"; string(body) != want {
		t.Fatalf("body %q, want %q", body, want)
	}
}

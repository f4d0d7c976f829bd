package lua

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"log/slog"
	"slices"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/ngxbase64"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
)

// The ngx table: OpenResty's API as far as sluice can give it. A name
// sluice lacks raises "ngx.<name> is not supported by sluice", never a
// silent nil.

// exitSignal is raised by ngx.exit and core.response.exit to unwind the
// running Lua code; call recognises it.
var exitSignal = &glua.LUserData{Value: "ngx.exit"}

func isExit(err error) bool {
	ae, ok := err.(*glua.ApiError)
	return ok && ae.Object == exitSignal
}

// Per-request Lua tables (ngx.ctx, fields hooks set on ctx) live in the
// request context, made on first write.
var (
	ngxCtxKey   = reqctx.NewLocalKey(func() any { return nil })
	ctxStoreKey = reqctx.NewLocalKey(func() any { return nil })
)

// nginx log levels, as ngx.* constants.
var logLevels = []struct {
	name  string
	level int
}{{"STDERR", 0}, {"EMERG", 1}, {"ALERT", 2}, {"CRIT", 3}, {"ERR", 4}, {"WARN", 5}, {"NOTICE", 6}, {"INFO", 7}, {"DEBUG", 8}}

var httpStatuses = map[string]int{
	"HTTP_CONTINUE": 100, "HTTP_SWITCHING_PROTOCOLS": 101, "HTTP_OK": 200, "HTTP_CREATED": 201,
	"HTTP_ACCEPTED": 202, "HTTP_NO_CONTENT": 204, "HTTP_PARTIAL_CONTENT": 206, "HTTP_SPECIAL_RESPONSE": 300,
	"HTTP_MOVED_PERMANENTLY": 301, "HTTP_MOVED_TEMPORARILY": 302, "HTTP_SEE_OTHER": 303, "HTTP_NOT_MODIFIED": 304,
	"HTTP_TEMPORARY_REDIRECT": 307, "HTTP_PERMANENT_REDIRECT": 308, "HTTP_BAD_REQUEST": 400, "HTTP_UNAUTHORIZED": 401,
	"HTTP_PAYMENT_REQUIRED": 402, "HTTP_FORBIDDEN": 403, "HTTP_NOT_FOUND": 404, "HTTP_NOT_ALLOWED": 405,
	"HTTP_NOT_ACCEPTABLE": 406, "HTTP_REQUEST_TIMEOUT": 408, "HTTP_CONFLICT": 409, "HTTP_GONE": 410,
	"HTTP_UPGRADE_REQUIRED": 426, "HTTP_TOO_MANY_REQUESTS": 429, "HTTP_CLOSE": 444, "HTTP_ILLEGAL": 451,
	"HTTP_INTERNAL_SERVER_ERROR": 500, "HTTP_METHOD_NOT_IMPLEMENTED": 501, "HTTP_BAD_GATEWAY": 502,
	"HTTP_SERVICE_UNAVAILABLE": 503, "HTTP_GATEWAY_TIMEOUT": 504, "HTTP_VERSION_NOT_SUPPORTED": 505,
	"HTTP_INSUFFICIENT_STORAGE": 507,
	"HTTP_GET":                  2, "HTTP_HEAD": 4, "HTTP_POST": 8, "HTTP_PUT": 16, "HTTP_DELETE": 32, "HTTP_OPTIONS": 512, "HTTP_PATCH": 16384,
}

// installAPI builds ngx, the ctx argument, and the modules require serves.
func (vm *VM) installAPI() {
	L := vm.L
	ngx := L.NewTable()
	for _, lv := range logLevels {
		ngx.RawSetString(lv.name, glua.LNumber(lv.level))
	}
	for k, v := range httpStatuses {
		ngx.RawSetString(k, glua.LNumber(v))
	}
	ngx.RawSetString("OK", glua.LNumber(0))
	ngx.RawSetString("ERROR", glua.LNumber(-1))
	ngx.RawSetString("AGAIN", glua.LNumber(-2))
	ngx.RawSetString("DONE", glua.LNumber(-4))
	ngx.RawSetString("DECLINED", glua.LNumber(-5))
	ngx.RawSetString("null", jsonNull)
	L.SetFuncs(ngx, map[string]glua.LGFunction{
		"say":         func(L *glua.LState) int { return vm.output(L, true) },
		"print":       func(L *glua.LState) int { return vm.output(L, false) },
		"exit":        vm.ngxExit,
		"log":         vm.ngxLog,
		"time":        func(L *glua.LState) int { L.Push(glua.LNumber(time.Now().Unix())); return 1 },
		"now":         func(L *glua.LState) int { L.Push(glua.LNumber(float64(time.Now().UnixMilli()) / 1000)); return 1 },
		"update_time": func(L *glua.LState) int { return 0 },
		"today":       func(L *glua.LState) int { L.Push(glua.LString(time.Now().Format("2006-01-02"))); return 1 },
		"localtime":   func(L *glua.LState) int { L.Push(glua.LString(time.Now().Format("2006-01-02 15:04:05"))); return 1 },
		"utctime": func(L *glua.LState) int {
			L.Push(glua.LString(time.Now().UTC().Format("2006-01-02 15:04:05")))
			return 1
		},
		"http_time":     httpTime,
		"encode_base64": encodeBase64,
		"decode_base64": decodeBase64,
		"md5": func(L *glua.LState) int {
			s := md5.Sum([]byte(L.CheckString(1)))
			L.Push(glua.LString(hex.EncodeToString(s[:])))
			return 1
		},
		"md5_bin": func(L *glua.LState) int { s := md5.Sum([]byte(L.CheckString(1))); L.Push(glua.LString(s[:])); return 1 },
		"sha1_bin": func(L *glua.LState) int {
			s := sha1.Sum([]byte(L.CheckString(1)))
			L.Push(glua.LString(s[:]))
			return 1
		},
		"crc32_short": crc32Of,
		"crc32_long":  crc32Of,
		"hmac_sha1":   hmacSHA1,
		"escape_uri": func(L *glua.LState) int {
			L.Push(glua.LString(vartmpl.AppendEscapedComponent(nil, L.CheckString(1))))
			return 1
		},
		"unescape_uri":  unescapeURI,
		"encode_args":   func(L *glua.LState) int { L.Push(glua.LString(encodeArgs(L.CheckTable(1)))); return 1 },
		"decode_args":   func(L *glua.LState) int { L.Push(argsTable(L, L.CheckString(1))); return 1 },
		"get_phase":     func(L *glua.LState) int { L.Push(glua.LString(vm.phase)); return 1 },
		"sleep":         forbidden("ngx.sleep (it would block the event loop)"),
		"location":      forbidden("ngx.location"),
		"socket":        forbidden("ngx.socket"),
		"timer":         forbidden("ngx.timer"),
		"thread":        forbidden("ngx.thread"),
		"shared":        forbidden("ngx.shared"),
		"redirect":      vm.ngxRedirect,
		"quote_sql_str": forbidden("ngx.quote_sql_str"),
		"worker":        forbidden("ngx.worker"),
		"config":        forbidden("ngx.config"),
	})
	ngx.RawSetString("var", vm.varTable())
	ngx.RawSetString("req", vm.reqTable())
	ngx.RawSetString("header", vm.headerTable())
	ngx.RawSetString("re", vm.reTable())
	vm.arg = L.NewTable()
	ngx.RawSetString("arg", vm.arg)
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		switch k := L.CheckString(2); k {
		case "status":
			if vm.cur == nil {
				L.Push(glua.LNumber(0))
			} else {
				L.Push(glua.LNumber(vm.cur.Status))
			}
		case "ctx":
			L.Push(vm.requestTable(ngxCtxKey))
		default:
			L.RaiseError("ngx.%s is not supported by sluice", k)
		}
		return 1
	}))
	meta.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		switch k := L.CheckString(2); k {
		case "status":
			if vm.cur != nil {
				vm.cur.Status = L.CheckInt(3)
			}
		default:
			L.RaiseError("ngx.%s cannot be set in sluice", k)
		}
		return 0
	}))
	L.SetMetatable(ngx, meta)
	vm.envs.RawSetString("ngx", ngx)
	vm.ngx = ngx
	vm.core = vm.coreModule()
	vm.ctxArg = vm.ctxTable()
	vm.modules = map[string]glua.LValue{
		"apisix.core": vm.core,
		"cjson":       cjsonModule(L, false),
		"cjson.safe":  cjsonModule(L, true),
		"ngx.re":      ngx.RawGetString("re"),
	}
}

// lstr makes a Lua string from request bytes. Short values are interned
// per VM, boxed as LValues, so a hook reading the same header on every
// request allocates nothing after the first (converting a string to an
// interface allocates its header).
func (vm *VM) lstr(b []byte) glua.LValue {
	if len(b) > 128 {
		return glua.LString(b)
	}
	if s, ok := vm.intern[bytestr.String(b)]; ok {
		return s
	}
	s := glua.LString(b)
	if len(vm.intern) >= 8192 {
		clear(vm.intern)
	}
	var v glua.LValue = s
	vm.intern[string(s)] = v
	return v
}

// lstrOrNil is lstr of b when ok, else nil: what a lookup returns to Lua
// (a header, a variable) when the request may not have it.
func (vm *VM) lstrOrNil(b []byte, ok bool) glua.LValue {
	if !ok {
		return glua.LNil
	}
	return vm.lstr(b)
}

func (vm *VM) request(L *glua.LState) *reqctx.Ctx {
	if vm.cur == nil {
		L.RaiseError("no request is being served (this API works inside a request's phases only)")
	}
	return vm.cur
}

// requestTable returns the request's table under key (ngx.ctx, or what
// hooks store on ctx), made on first use.
func (vm *VM) requestTable(key *reqctx.LocalKey) *glua.LTable {
	c := vm.request(vm.L)
	if t, ok := c.Local(key).(*glua.LTable); ok {
		return t
	}
	t := vm.L.NewTable()
	c.SetLocal(key, t)
	return t
}

// varTable is ngx.var (and ctx.var): request variables, read-only.
func (vm *VM) varTable() *glua.LTable {
	L := vm.L
	t := L.NewTable()
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		L.Push(vm.lstrOrNil(vm.request(L).Var(L.CheckString(2))))
		return 1
	}))
	meta.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		L.RaiseError("ngx.var.%s cannot be set in sluice", L.CheckString(2))
		return 0
	}))
	L.SetMetatable(t, meta)
	return t
}

// matchedTable is ctx.curr_req_matched, what lua-resty-radixtree records
// of a match: _path and _host, the route's path and host as written that
// matched (no _host for a route without hosts), _method, and the
// parameter captures by name. nil when no route matched.
func (vm *VM) matchedTable(c *reqctx.Ctx) glua.LValue {
	if c.Route == nil {
		return glua.LNil
	}
	L := vm.L
	t := L.NewTable()
	path, host := c.Matched()
	t.RawSetString("_path", glua.LString(path))
	if host != "" {
		t.RawSetString("_host", glua.LString(host))
	}
	t.RawSetString("_method", vm.lstr(c.Method()))
	for i := 0; i < c.Query.Params.Len(); i++ {
		name, val := c.Query.Params.At(i)
		t.RawSetString(name, glua.LString(val))
	}
	return t
}

// ctxTable is the ctx argument hooks get (APISIX's api_ctx): var,
// consumer_name, route_id and friends, and whatever the hooks store.
func (vm *VM) ctxTable() *glua.LTable {
	L := vm.L
	t := L.NewTable()
	varT := vm.varTable()
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		c := vm.request(L)
		k := L.CheckString(2)
		var s string
		switch k {
		case "var":
			L.Push(varT)
			return 1
		case "route_id":
			s = c.RouteID
		case "route_name":
			s = c.RouteName
		case "service_id":
			s = c.ServiceID
		case "service_name":
			s = c.ServiceName
		case "consumer_name":
			if c.Consumer != nil {
				s = c.Consumer.Name
			}
		case "consumer_group_id":
			if c.Consumer != nil {
				s = c.Consumer.GroupID
			}
		case "curr_req_matched":
			L.Push(vm.matchedTable(c))
			return 1
		default:
			if st, ok := c.Local(ctxStoreKey).(*glua.LTable); ok {
				L.Push(st.RawGetString(k))
			} else {
				L.Push(glua.LNil)
			}
			return 1
		}
		if s == "" {
			L.Push(glua.LNil)
		} else {
			L.Push(glua.LString(s))
		}
		return 1
	}))
	meta.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		vm.requestTable(ctxStoreKey).RawSet(L.CheckAny(2), L.CheckAny(3))
		return 0
	}))
	L.SetMetatable(t, meta)
	return t
}

// reqTable is ngx.req.
func (vm *VM) reqTable() *glua.LTable {
	L := vm.L
	t := L.NewTable()
	L.SetFuncs(t, map[string]glua.LGFunction{
		"get_headers": func(L *glua.LState) int { L.Push(vm.headers(vm.request(L))); return 1 },
		"get_header": func(L *glua.LState) int {
			L.Push(vm.lstrOrNil(vm.request(L).Header(L.CheckString(1))))
			return 1
		},
		"set_header":   func(L *glua.LState) int { vm.setReqHeader(L, 1); return 0 },
		"clear_header": func(L *glua.LState) int { vm.request(L).DelHeader(L.CheckString(1)); return 0 },
		"get_uri_args": func(L *glua.LState) int { L.Push(argsTable(L, string(vm.request(L).Args()))); return 1 },
		"set_uri_args": func(L *glua.LState) int { setURIArgs(L, vm.request(L), 1); return 0 },
		"set_uri": func(L *glua.LState) int {
			uri := L.CheckString(1)
			if uri == "" || uri[0] != '/' {
				L.ArgError(1, "uri must start with /")
			}
			vm.request(L).SetURI(bytestr.Bytes(uri))
			return 0
		},
		"get_method": func(L *glua.LState) int { L.Push(vm.lstr(vm.request(L).Method())); return 1 },
		"read_body":  func(L *glua.LState) int { return 0 },
		"get_body_data": func(L *glua.LState) int {
			if b := vm.request(L).Body; b != nil {
				L.Push(glua.LString(b))
			} else {
				L.Push(glua.LNil)
			}
			return 1
		},
	})
	return t
}

// setReqHeader sets the request header named by argument i to argument
// i+1 (nil clears it, a table sets several values).
func (vm *VM) setReqHeader(L *glua.LState, i int) {
	c := vm.request(L)
	name := L.CheckString(i)
	switch v := L.Get(i + 1).(type) {
	case *glua.LNilType:
		c.DelHeader(name)
	case *glua.LTable:
		c.DelHeader(name)
		v.ForEach(func(_, e glua.LValue) { c.AddHeader(name, bytestr.Bytes(glua.LVAsString(e))) })
	default:
		c.SetHeader(name, bytestr.Bytes(glua.LVAsString(v)))
	}
}

// headers builds the request's header table: lower-case names, a list
// for a repeated name.
func (vm *VM) headers(c *reqctx.Ctx) *glua.LTable {
	L := vm.L
	t := L.NewTable()
	for i := range c.Req.Headers {
		h := &c.Req.Headers[i]
		name := strings.ToLower(string(h.Name.Of(c.Head)))
		if v, ok := c.Header(name); ok {
			addValue(L, t, name, vm.lstr(v))
		}
	}
	return t
}

func addValue(L *glua.LState, t *glua.LTable, k string, v glua.LValue) {
	switch old := t.RawGetString(k).(type) {
	case *glua.LNilType:
		t.RawSetString(k, v)
	case *glua.LTable:
		old.Append(v)
	default:
		list := L.NewTable()
		list.Append(old)
		list.Append(v)
		t.RawSetString(k, list)
	}
}

// headerTable is ngx.header: the response's headers, read and written.
func (vm *VM) headerTable() *glua.LTable {
	L := vm.L
	t := L.NewTable()
	meta := L.NewTable()
	meta.RawSetString("__index", L.NewFunction(func(L *glua.LState) int {
		name := strings.ReplaceAll(L.CheckString(2), "_", "-")
		L.Push(vm.lstrOrNil(vm.request(L).RespHeader(name)))
		return 1
	}))
	meta.RawSetString("__newindex", L.NewFunction(func(L *glua.LState) int {
		c := vm.request(L)
		name := strings.ReplaceAll(L.CheckString(2), "_", "-")
		switch v := L.Get(3).(type) {
		case *glua.LNilType:
			c.DelRespHeader(name)
		case *glua.LTable:
			c.DelRespHeader(name)
			v.ForEach(func(_, e glua.LValue) { c.AddRespHeader(name, bytestr.Bytes(glua.LVAsString(e))) })
		default:
			c.SetRespHeader(name, bytestr.Bytes(glua.LVAsString(v)))
		}
		return 0
	}))
	L.SetMetatable(t, meta)
	return t
}

// output is ngx.say (newline) and ngx.print: the response body a hook
// writes, sent when it exits (or ends).
func (vm *VM) output(L *glua.LState, newline bool) int {
	vm.request(L)
	for i := 1; i <= L.GetTop(); i++ {
		vm.out = appendLuaValue(vm.out, L.Get(i))
	}
	if newline {
		vm.out = append(vm.out, '\n')
	}
	vm.wrote = true
	L.Push(glua.LNumber(1))
	return 1
}

func appendLuaValue(dst []byte, v glua.LValue) []byte {
	if t, ok := v.(*glua.LTable); ok {
		for i := 1; i <= t.Len(); i++ {
			dst = appendLuaValue(dst, t.RawGetInt(i))
		}
		return dst
	}
	if v == jsonNull {
		return append(dst, "null"...)
	}
	return append(dst, glua.LVAsString(v)...)
}

// ngxExit is ngx.exit(status): end the hook; a status of 200 or more ends
// the request with it (and what the hook printed).
func (vm *VM) ngxExit(L *glua.LState) int {
	vm.request(L)
	vm.exit = L.CheckInt(1)
	L.Error(exitSignal, 0)
	return 0
}

// ngxRedirect is ngx.redirect(uri, status=302).
func (vm *VM) ngxRedirect(L *glua.LState) int {
	c := vm.request(L)
	c.SetRespHeader("Location", bytestr.Bytes(L.CheckString(1)))
	vm.exit = L.OptInt(2, 302)
	L.Error(exitSignal, 0)
	return 0
}

// ngxLog writes ngx.log(level, ...) to the runtime's logger.
func (vm *VM) ngxLog(L *glua.LState) int {
	level := L.CheckInt(1)
	var b strings.Builder
	for i := 2; i <= L.GetTop(); i++ {
		b.WriteString(glua.LVAsString(L.Get(i)))
	}
	vm.log(level, b.String())
	return 0
}

func (vm *VM) log(level int, msg string) {
	var l slog.Level
	switch {
	case level <= 4:
		l = slog.LevelError
	case level == 5:
		l = slog.LevelWarn
	case level <= 7:
		l = slog.LevelInfo
	default:
		l = slog.LevelDebug
	}
	attrs := []any{"component", "lua"}
	if vm.cur != nil && vm.cur.RouteID != "" {
		attrs = append(attrs, "route", vm.cur.RouteID)
	}
	vm.rt.lg.Log(context.Background(), l, msg, attrs...)
}

// print is the sandbox's print: a log line at info level.
func (vm *VM) print(L *glua.LState) int {
	var parts []string
	for i := 1; i <= L.GetTop(); i++ {
		parts = append(parts, glua.LVAsString(L.Get(i)))
	}
	vm.log(7, strings.Join(parts, "\t"))
	return 0
}

func httpTime(L *glua.LState) int {
	L.Push(glua.LString(time.Unix(int64(L.CheckInt(1)), 0).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")))
	return 1
}

func encodeBase64(L *glua.LState) int {
	s := L.CheckString(1)
	if L.OptBool(2, false) {
		L.Push(glua.LString(base64.RawStdEncoding.EncodeToString([]byte(s))))
	} else {
		L.Push(glua.LString(base64.StdEncoding.EncodeToString([]byte(s))))
	}
	return 1
}

func decodeBase64(L *glua.LState) int {
	b, ok := ngxbase64.Decode(nil, []byte(L.CheckString(1)))
	if !ok {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LString(b))
	return 1
}

func crc32Of(L *glua.LState) int {
	L.Push(glua.LNumber(crc32.ChecksumIEEE([]byte(L.CheckString(1)))))
	return 1
}

func hmacSHA1(L *glua.LState) int {
	m := hmac.New(sha1.New, []byte(L.CheckString(1)))
	m.Write([]byte(L.CheckString(2)))
	L.Push(glua.LString(m.Sum(nil)))
	return 1
}

func unescapeURI(L *glua.LState) int {
	L.Push(glua.LString(unescapeComponent(L.CheckString(1))))
	return 1
}

// unescapeComponent decodes s as lua-nginx-module does (ngx.unescape_uri,
// ngx.req.get_uri_args): an invalid escape is kept and the rest decoded.
// url.QueryUnescape refused the whole string instead.
func unescapeComponent(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	return string(vartmpl.AppendUnescapedComponent(nil, bytestr.Bytes(s)))
}

// argsTable decodes a query string as ngx.req.get_uri_args does: a list
// for a repeated name, true for a name without '='.
func argsTable(L *glua.LState, q string) *glua.LTable {
	t := L.NewTable()
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		k, v, hasValue := strings.Cut(pair, "=")
		k = unescapeComponent(k)
		var val glua.LValue = glua.LTrue
		if hasValue {
			val = glua.LString(unescapeComponent(v))
		}
		addValue(L, t, k, val)
	}
	return t
}

// setURIArgs replaces c's query with argument arg, as
// ngx.req.set_uri_args does: a string as it is, a number as its text, a
// table encoded (encodeArgs); anything else raises, changing nothing.
func setURIArgs(L *glua.LState, c *reqctx.Ctx, arg int) {
	switch a := L.Get(arg).(type) {
	case glua.LString:
		c.SetArgs(bytestr.Bytes(string(a)))
	case glua.LNumber:
		c.SetArgs([]byte(a.String()))
	case *glua.LTable:
		c.SetArgs([]byte(encodeArgs(a)))
	default:
		// lua-nginx-module's words; APISIX's core.request.set_uri_args
		// passes its second argument on as this first one.
		L.RaiseError("bad argument #1 to 'set_uri_args' (string, number, or table expected, but got %s)", a.Type())
	}
}

// encodeArgs encodes a table as a query string, as ngx.encode_args does:
// keys and values escaped as URI components, a true value as the key
// alone, a false one left out, a list as the key repeated. Keys are sorted
// (nginx follows the table's order, which Lua does not define).
func encodeArgs(t *glua.LTable) string {
	var keys []string
	t.ForEach(func(k, _ glua.LValue) { keys = append(keys, glua.LVAsString(k)) })
	slices.Sort(keys)
	var b []byte
	for _, k := range keys {
		add := func(v glua.LValue) {
			if v == glua.LFalse {
				return
			}
			if len(b) > 0 {
				b = append(b, '&')
			}
			b = vartmpl.AppendEscapedComponent(b, k)
			if v != glua.LTrue {
				b = append(b, '=')
				b = vartmpl.AppendEscapedComponent(b, glua.LVAsString(v))
			}
		}
		switch v := t.RawGetString(k).(type) {
		case *glua.LTable:
			v.ForEach(func(_, e glua.LValue) { add(e) })
		default:
			add(v)
		}
	}
	return string(b)
}

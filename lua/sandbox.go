package lua

import (
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"
)

// maxStringResult bounds what string.rep (and string.format's padding)
// may build: one call is a single VM instruction, which no time budget
// interrupts, so without a cap `string.rep("x", 1e9)` allocates a gigabyte.
const maxStringResult = 4 << 20

// safeBase lists the base functions a sandboxed Func may use. Left out:
// dofile, loadfile, load, loadstring, module, getfenv, setfenv,
// collectgarbage, newproxy, _printregs, print (ngx.log writes logs), and
// the real require (replaced by one that serves sluice's modules only).
var safeBase = []string{
	"assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawset", "rawlen",
	"select", "setmetatable", "getmetatable", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION",
}

// sandbox opens the safe libraries and returns the table of globals every
// Func's environment reads through.
func (vm *VM) sandbox() *glua.LTable {
	L := vm.L
	for _, lib := range []struct {
		name string
		open glua.LGFunction
	}{{glua.BaseLibName, glua.OpenBase}, {glua.TabLibName, glua.OpenTable}, {glua.StringLibName, glua.OpenString}, {glua.MathLibName, glua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(glua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.NewTable()
	for _, name := range safeBase {
		if v := L.GetGlobal(name); v != glua.LNil {
			g.RawSetString(name, v)
		}
	}
	str := L.GetGlobal("string").(*glua.LTable)
	str.RawSetString("rep", L.NewFunction(stringRep))
	str.RawSetString("dump", glua.LNil)
	g.RawSetString("string", str) // also the strings' metatable __index: patched in place
	g.RawSetString("table", L.GetGlobal("table"))
	g.RawSetString("math", L.GetGlobal("math"))
	osLib := L.NewTable()
	L.SetFuncs(osLib, map[string]glua.LGFunction{"time": osTime, "clock": osClock, "date": osDate})
	g.RawSetString("os", osLib)
	g.RawSetString("require", L.NewFunction(vm.require))
	g.RawSetString("print", L.NewFunction(vm.print))
	g.RawSetString("_G", g)
	// Names code may reach for and must not get: a clear error beats a
	// confusing "attempt to call a nil value".
	for _, name := range []string{"io", "debug", "package", "load", "loadstring", "loadfile", "dofile", "module", "getfenv", "setfenv", "collectgarbage", "newproxy"} {
		g.RawSetString(name, L.NewFunction(forbidden(name)))
	}
	return g
}

func forbidden(name string) glua.LGFunction {
	return func(L *glua.LState) int {
		L.RaiseError("%s is not available in sluice's Lua sandbox", name)
		return 0
	}
}

// stringRep is string.rep with a bound on the result.
func stringRep(L *glua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	sep := L.OptString(3, "")
	if n <= 0 {
		L.Push(glua.LString(""))
		return 1
	}
	if total := int64(len(s)+len(sep)) * int64(n); total > maxStringResult {
		L.RaiseError("string.rep: result of %d bytes is over sluice's limit of %d", total, maxStringResult)
		return 0
	}
	if sep == "" {
		L.Push(glua.LString(strings.Repeat(s, n)))
		return 1
	}
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
	}
	L.Push(glua.LString(b.String()))
	return 1
}

func osTime(L *glua.LState) int {
	if L.GetTop() == 0 {
		L.Push(glua.LNumber(time.Now().Unix()))
		return 1
	}
	t := L.CheckTable(1)
	field := func(k string, d int) int {
		if v, ok := t.RawGetString(k).(glua.LNumber); ok {
			return int(v)
		}
		return d
	}
	tm := time.Date(field("year", 1970), time.Month(field("month", 1)), field("day", 1),
		field("hour", 12), field("min", 0), field("sec", 0), 0, time.Local)
	L.Push(glua.LNumber(tm.Unix()))
	return 1
}

var processStart = time.Now()

func osClock(L *glua.LState) int {
	L.Push(glua.LNumber(time.Since(processStart).Seconds()))
	return 1
}

// osDate supports the formats code commonly uses: "*t"/"!*t" tables and
// strftime-style strings with the common conversions.
func osDate(L *glua.LState) int {
	format := L.OptString(1, "%c")
	t := time.Now()
	if L.GetTop() >= 2 {
		t = time.Unix(int64(L.CheckInt(2)), 0)
	}
	if strings.HasPrefix(format, "!") {
		format = format[1:]
		t = t.UTC()
	}
	if format == "*t" {
		tb := L.NewTable()
		for k, v := range map[string]int{"year": t.Year(), "month": int(t.Month()), "day": t.Day(), "hour": t.Hour(),
			"min": t.Minute(), "sec": t.Second(), "wday": int(t.Weekday()) + 1, "yday": t.YearDay()} {
			tb.RawSetString(k, glua.LNumber(v))
		}
		tb.RawSetString("isdst", glua.LFalse)
		L.Push(tb)
		return 1
	}
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			b.WriteString(t.Format("2006"))
		case 'y':
			b.WriteString(t.Format("06"))
		case 'm':
			b.WriteString(t.Format("01"))
		case 'd':
			b.WriteString(t.Format("02"))
		case 'H':
			b.WriteString(t.Format("15"))
		case 'M':
			b.WriteString(t.Format("04"))
		case 'S':
			b.WriteString(t.Format("05"))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'c':
			b.WriteString(t.Format("Mon Jan  2 15:04:05 2006"))
		case 'x':
			b.WriteString(t.Format("01/02/06"))
		case 'X':
			b.WriteString(t.Format("15:04:05"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	L.Push(glua.LString(b.String()))
	return 1
}

//go:build !race

package expr

import (
	"encoding/json"
	"testing"
)

// staticVars is an allocation-free Vars for tests and benchmarks.
type staticVars struct{ arg, ua, ip []byte }

func (s *staticVars) Value(v *Var) ([]byte, bool) {
	switch v.Kind {
	case VarArg:
		return s.arg, true
	case VarHTTP:
		return s.ua, true
	case VarRemoteAddr:
		return s.ip, true
	}
	return nil, false
}

const benchRule = `[["arg_age", ">", 18], ["http_user_agent", "~*", "mozilla"],
	["OR", ["remote_addr", "ipmatch", ["10.0.0.0/8", "192.168.0.0/16"]], ["arg_age", "in", ["1", "2"]]]]`

func TestEvalAllocatesNothing(t *testing.T) {
	e, err := Compile(json.RawMessage(benchRule))
	if err != nil {
		t.Fatal(err)
	}
	vars := &staticVars{arg: []byte("42"), ua: []byte("Mozilla/5.0"), ip: []byte("10.1.2.3")}
	if n := testing.AllocsPerRun(1000, func() {
		if !e.Eval(vars) {
			t.Fatal("rule should hold")
		}
	}); n != 0 {
		t.Fatalf("%v allocations per eval", n)
	}
}

func BenchmarkEval(b *testing.B) {
	e, err := Compile(json.RawMessage(benchRule))
	if err != nil {
		b.Fatal(err)
	}
	vars := &staticVars{arg: []byte("42"), ua: []byte("Mozilla/5.0"), ip: []byte("10.1.2.3")}
	b.ReportAllocs()
	for b.Loop() {
		e.Eval(vars)
	}
}

package expr

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// FuzzCompile: any JSON either compiles or fails with an error, never
// panics; a compiled rule evaluates against any variables without panicking.
func FuzzCompile(f *testing.F) {
	data, err := os.ReadFile("testdata/expr.txt")
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "compile") || strings.HasPrefix(l, "eval") {
			f.Add(lines[i+1], "1")
		}
	}
	f.Fuzz(func(t *testing.T, rule, val string) {
		e, err := Compile(json.RawMessage(rule))
		if err != nil {
			return
		}
		e.Eval(mapVars{"arg_a": val, "remote_addr": val, "http_x": val, "arg_age": val})
		e.Eval(mapVars{})
	})
}

package jsonschema

import (
	"regexp"
	"testing"
)

// patterns are the ones APISIX's schemas use and neighbours of them,
// byteClass-shaped or not.
var patterns = []string{
	`^[a-zA-Z0-9-_.]+$`, `^[a-zA-Z0-9-_]+$`, `^[a-z]*$`, `^[^/]+$`, `(?i)^[a-k]+$`, `^[a-z]+$|^x$`,
	`^[a-z]+`, `[a-z]+$`, `^[a-z]$`, `^\*?[0-9a-zA-Z-._\[\]:]+$`, `^[a-zA-Z0-9_\-]+$`, `^[\d]+$`, `^\w+$`,
	`(?m)^[a-z]+$`, `^[a-z]+\z`, `^[é]+$`,
}

var patternInputs = []string{"", "a", "abc", "a.b-c_d", "a/b", "A", "K", "\u212a", "é", "abc\n", "\nabc", "a b", "\xff", "0123", "x", "-"}

func TestByteClassMatchesRegexp(t *testing.T) {
	kinds := 0
	for _, p := range patterns {
		if compileByteClass(p) != nil {
			kinds++
		}
		for _, in := range patternInputs {
			checkPattern(t, p, in)
		}
	}
	if kinds < 4 {
		t.Errorf("only %d patterns checked with a byte table", kinds)
	}
}

func FuzzByteClass(f *testing.F) {
	for _, in := range patternInputs {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, p := range patterns {
			checkPattern(t, p, in)
		}
	})
}

func checkPattern(t *testing.T, pattern, in string) {
	t.Helper()
	p := MustCompilePattern(pattern)
	if got, want := p.MatchString(in), regexp.MustCompile(pattern).MatchString(in); got != want {
		t.Errorf("%s on %q: %v, the regexp says %v", pattern, in, got, want)
	}
}

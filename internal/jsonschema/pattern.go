package jsonschema

import (
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// Pattern is a compiled "pattern" keyword: a regexp, matched with a byte
// table instead when it has the shape of one (byteClass). Code that checks
// a schema's strings itself, without a decoded value to Validate (config's
// fast route decoder), matches through it and so agrees with the schema.
// A Pattern is immutable and safe from any goroutine.
type Pattern struct {
	re    *regexp.Regexp
	bytes *byteClass // re, when it is one that needs no regexp
}

// CompilePattern compiles a pattern as the "pattern" keyword does.
func CompilePattern(src string) (*Pattern, error) {
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	return &Pattern{re: re, bytes: compileByteClass(src)}, nil
}

// MustCompilePattern is CompilePattern for a pattern known to be good
// (package-level variables), as regexp.MustCompile is.
func MustCompilePattern(src string) *Pattern {
	return &Pattern{re: regexp.MustCompile(src), bytes: compileByteClass(src)}
}

// MatchString reports whether s matches the pattern.
func (p *Pattern) MatchString(s string) bool {
	if p.bytes != nil {
		return p.bytes.match(s)
	}
	return p.re.MatchString(s)
}

// byteClass is a pattern of the form ^[...]+$ or ^[...]*$ over ASCII
// characters, the shape of APISIX's id and name patterns
// (^[a-zA-Z0-9-_.]+$): a string matches when each of its bytes is in the
// class. Checked with a table, it costs a fraction of running the regexp,
// which every id of every object loaded went through (issue 13).
type byteClass struct {
	in       [utf8.RuneSelf]bool
	nonEmpty bool // + rather than *
}

// compileByteClass returns the byteClass src is, or nil when src is any
// other pattern (it is then matched by its regexp).
func compileByteClass(src string) *byteClass {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return nil
	}
	re = re.Simplify()
	// ^ and $ without the m flag are the text's ends: OpBeginText and
	// OpEndText, as the regexp package matches them.
	if re.Op != syntax.OpConcat || len(re.Sub) != 3 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[2].Op != syntax.OpEndText {
		return nil
	}
	rep := re.Sub[1]
	if (rep.Op != syntax.OpPlus && rep.Op != syntax.OpStar) || rep.Sub[0].Op != syntax.OpCharClass {
		return nil
	}
	c := &byteClass{nonEmpty: rep.Op == syntax.OpPlus}
	ranges := rep.Sub[0].Rune
	for i := 0; i < len(ranges); i += 2 {
		if ranges[i+1] >= utf8.RuneSelf {
			return nil // a class with non-ASCII characters: leave it to the regexp
		}
		for r := ranges[i]; r <= ranges[i+1]; r++ {
			c.in[r] = true
		}
	}
	return c
}

func (c *byteClass) match(s string) bool {
	if c.nonEmpty && s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf || !c.in[s[i]] {
			return false
		}
	}
	return true
}

// Package expr owns APISIX's `vars` expressions: the lua-resty-expr language
// used by route `vars`, plugin `_meta.filter`, traffic-split rules and
// others. Compile turns the JSON rule into an Expr once per config version
// (regular expressions, IP sets and numbers included); Expr.Eval then
// evaluates it against a request's variables without allocating.
//
// It refuses to own where variable values come from: the caller supplies a
// Vars (the engine reads them from the parsed request).
//
// # Semantics (lua-resty-expr 1.3)
//
// A rule is a list of expressions, all of which must hold, or a logical form
// ["AND"|"OR"|"!AND"|"!OR", expr, expr, ...] (nested freely). An expression
// is [var, op, value], [var, "!", op, value] (negated) or [var, value] (==).
// A top-level expression not wrapped in a list is rejected. The empty rule
// matches everything.
//
// Operators (case-insensitive): == and ~= compare strings, or numbers when
// the value is a JSON number (the variable is converted; a variable that is
// not a number is unequal); > >= < <= compare numbers (anything that is not
// a number fails); ~~ and ~* search a regular expression (~* ignoring
// case); in tests membership of a JSON array (types must agree, as in Lua:
// the string "1" is not the number 1); has tests membership of a variable
// holding a list (request variables are single strings, so it is false);
// ipmatch tests an IP against addresses and CIDRs. A JSON null value means
// "absent": ["arg_x", "==", null] holds when there is no arg_x.
//
// Regular expressions are RE2 (Go's regexp), not PCRE: patterns using PCRE-
// only features (look-around, back-references) are rejected at compile time,
// where APISIX would accept them; invalid patterns are also rejected at
// compile time rather than failing every match at run time.
package expr

// Package ngxre owns what APISIX's ngx.re calls mean, on Go's RE2 engine:
// the option letters ("jo", "i", ...), ngx.re.sub/gsub replacement
// templates ("$1", "${1}", "$$") and the substitutions themselves.
//
// APISIX runs PCRE; sluice runs RE2 (regexp), which has no lookaround,
// backreferences, possessive quantifiers or atomic groups. A pattern using
// them fails Compile with an error that says so, at config check time (the
// Admin API refuses the conf), never at request time.
//
// It refuses to own variable templates (internal/vartmpl). Compiled values
// are immutable and safe to share between loops.
package ngxre

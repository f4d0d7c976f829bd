// Package vartmpl owns APISIX's variable templates: the strings plugins
// expand per request with request variables ("$remote_addr",
// "${http_x ?? none}") and, for proxy-rewrite, regex captures ("$1",
// "${2}"), plus the URI escapes APISIX applies to what they produce.
//
// A template is compiled once, with its conf, into segments (literal bytes,
// a parsed expr.Var, a capture number); expanding it appends to a caller's
// buffer and allocates nothing. The syntax follows APISIX's
// core.utils.resolve_var (apisix/core/utils.lua):
//
//	$name, ${name}     a variable (name: word characters and '.'; inside
//	                   braces anything but '}', trimmed); absent → ""
//	${name ?? dflt}    dflt when the variable is absent
//	\$name             not a variable (the backslash stays, as in APISIX)
//
// and, when captures are on, resolve_var_with_captures before it: "$N",
// "${N}" name the regex capture N (absent or unmatched → "").
//
// Deliberate difference: APISIX substitutes captures first and then
// resolves variables in the result, so capture text that itself contains
// "$name" is expanded again. Here a capture's text is inserted as is.
//
// redirect's own template dialect (no dots, no defaults, "\$" kept) is
// CompileRedirect.
//
// It refuses to own where variables come from (internal/reqctx) and regular
// expressions (internal/ngxre). Templates are immutable and safe to share
// between loops.
package vartmpl

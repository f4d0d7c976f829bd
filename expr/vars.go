package expr

import "strings"

// VarKind is a request variable's kind, decoded from its name once.
type VarKind uint8

// Variable kinds. The prefixed ones (arg_, http_, cookie_, post_arg_,
// uri_param_) carry the rest of the name in Var.Name.
const (
	VarUnknown       VarKind = iota // a name sluice does not provide: always absent
	VarURI                          // normalised path ($uri)
	VarRequestURI                   // path and query as sent ($request_uri)
	VarHost                         // host name, lower case, no port ($host)
	VarRemoteAddr                   // client IP
	VarRemotePort                   // client port
	VarServerAddr                   // local IP
	VarServerPort                   // local port
	VarRequestMethod                // GET, POST, ...
	VarScheme                       // http
	VarQueryString                  // query without '?' ($args, $query_string)
	VarArg                          // arg_<name>: first query argument of that name, raw
	VarHTTP                         // http_<name>: request header, '-' written as '_'
	VarCookie                       // cookie_<name>
	VarPostArg                      // post_arg_<name>: urlencoded body argument
	VarURIParam                     // uri_param_<name>: router parameter capture
	VarRouteID                      // route_id of the matched route
	numVarKinds
)

var plainVars = map[string]VarKind{
	"uri":            VarURI,
	"request_uri":    VarRequestURI,
	"host":           VarHost,
	"remote_addr":    VarRemoteAddr,
	"remote_port":    VarRemotePort,
	"server_addr":    VarServerAddr,
	"server_port":    VarServerPort,
	"request_method": VarRequestMethod,
	"scheme":         VarScheme,
	"args":           VarQueryString,
	"query_string":   VarQueryString,
	"route_id":       VarRouteID,
}

var prefixedVars = []struct {
	prefix string
	kind   VarKind
}{
	// post_arg_ before arg_ would matter only if one prefixed the other the
	// other way round; it does not, but keep the longest first anyway.
	{"post_arg_", VarPostArg},
	{"uri_param_", VarURIParam},
	{"cookie_", VarCookie},
	{"http_", VarHTTP},
	{"arg_", VarArg},
}

// Var is a variable reference, parsed once at compile time.
type Var struct {
	Kind VarKind
	// Name is the part after the prefix for prefixed kinds, lower-cased for
	// http_ (nginx matches header names case-insensitively, with '-' and
	// '_' equal) and arg_/cookie_ (nginx compares them case-insensitively).
	Name string
	// Raw is the name as written in the rule.
	Raw string
}

// ParseVar decodes a variable name.
func ParseVar(name string) Var {
	if k, ok := plainVars[name]; ok {
		return Var{Kind: k, Raw: name}
	}
	for _, p := range prefixedVars {
		if rest, ok := strings.CutPrefix(name, p.prefix); ok && rest != "" {
			if p.kind == VarHTTP || p.kind == VarArg || p.kind == VarCookie {
				rest = strings.ToLower(rest)
			}
			return Var{Kind: p.kind, Name: rest, Raw: name}
		}
	}
	return Var{Kind: VarUnknown, Raw: name}
}

// Vars supplies one request's variable values. Value returns the value and
// whether the variable is present; the bytes need only stay valid until the
// next call. Implementations must not allocate: Eval runs per request.
type Vars interface {
	Value(v *Var) (value []byte, ok bool)
}

// HeaderNameMatches reports whether a header name matches an http_ variable
// name (lower case, '_' standing for '-' or '_'), as nginx's $http_ does.
func HeaderNameMatches(header []byte, varName string) bool {
	if len(header) != len(varName) {
		return false
	}
	for i := 0; i < len(header); i++ {
		c := header[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '-':
			c = '_'
		}
		if c != varName[i] {
			return false
		}
	}
	return true
}

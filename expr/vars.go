package expr

import "strings"

// VarKind is a request variable's kind, decoded from its name once.
type VarKind uint8

// Variable kinds. The prefixed ones (arg_, http_, cookie_, post_arg_,
// uri_param_, sent_http_, upstream_http_) carry the rest of the name in
// Var.Name. The names are nginx's and APISIX's (apisix/core/ctx.lua).
const (
	VarUnknown              VarKind = iota // a name sluice does not provide: always absent
	VarURI                                 // normalised path ($uri), as plugins may have rewritten it
	VarRequestURI                          // path and query as sent ($request_uri)
	VarHost                                // host name, lower case, no port ($host)
	VarRemoteAddr                          // client IP
	VarRemotePort                          // client port
	VarServerAddr                          // local IP
	VarServerPort                          // local port
	VarRequestMethod                       // GET, POST, ...
	VarScheme                              // http
	VarQueryString                         // query without '?' ($args, $query_string)
	VarArg                                 // arg_<name>: first query argument of that name, raw
	VarHTTP                                // http_<name>: request header, '-' written as '_'
	VarCookie                              // cookie_<name>
	VarPostArg                             // post_arg_<name>: urlencoded body argument
	VarURIParam                            // uri_param_<name>: router parameter capture
	VarRouteID                             // route_id of the matched route
	VarRouteName                           // route_name
	VarServiceID                           // service_id of the matched route's service
	VarServiceName                         // service_name
	VarConsumerName                        // consumer_name, once an auth plugin identified one
	VarConsumerGroupID                     // consumer_group_id
	VarServerProtocol                      // HTTP/1.1
	VarIsArgs                              // "?" when the request has a query, else empty
	VarContentType                         // the request's Content-Type
	VarContentLength                       // the request's Content-Length
	VarRequestLength                       // request bytes read: head and body
	VarHostname                            // the gateway's host name
	VarUpstreamAddr                        // address of each upstream tried, ", "-separated
	VarUpstreamStatus                      // status of each upstream response, ", "-separated
	VarUpstreamResponseTime                // seconds each upstream took, ", "-separated
	VarUpstreamScheme                      // http
	VarUpstreamHost                        // the Host sent upstream
	VarUpstreamURI                         // the path and query sent upstream
	VarBalancerIP                          // the picked node's host
	VarBalancerPort                        // the picked node's port
	VarStatus                              // the response status
	VarRequestTime                         // seconds since the request's first byte, millisecond resolution
	VarBodyBytesSent                       // response body bytes sent
	VarBytesSent                           // response bytes sent, head included
	VarTimeISO8601                         // local time, ISO 8601
	VarTimeLocal                           // local time, common log format
	VarMsec                                // Unix time in seconds with millisecond resolution
	VarSentHTTP                            // sent_http_<name>: response header
	VarUpstreamHTTP                        // upstream_http_<name>: upstream response header
	numVarKinds
)

var plainVars = map[string]VarKind{
	"uri":                    VarURI,
	"document_uri":           VarURI,
	"request_uri":            VarRequestURI,
	"host":                   VarHost,
	"remote_addr":            VarRemoteAddr,
	"remote_port":            VarRemotePort,
	"server_addr":            VarServerAddr,
	"server_port":            VarServerPort,
	"request_method":         VarRequestMethod,
	"scheme":                 VarScheme,
	"args":                   VarQueryString,
	"query_string":           VarQueryString,
	"route_id":               VarRouteID,
	"route_name":             VarRouteName,
	"service_id":             VarServiceID,
	"service_name":           VarServiceName,
	"consumer_name":          VarConsumerName,
	"consumer_group_id":      VarConsumerGroupID,
	"server_protocol":        VarServerProtocol,
	"is_args":                VarIsArgs,
	"content_type":           VarContentType,
	"content_length":         VarContentLength,
	"request_length":         VarRequestLength,
	"hostname":               VarHostname,
	"upstream_addr":          VarUpstreamAddr,
	"upstream_status":        VarUpstreamStatus,
	"upstream_response_time": VarUpstreamResponseTime,
	"upstream_scheme":        VarUpstreamScheme,
	"upstream_host":          VarUpstreamHost,
	"upstream_uri":           VarUpstreamURI,
	"balancer_ip":            VarBalancerIP,
	"balancer_port":          VarBalancerPort,
	"status":                 VarStatus,
	"request_time":           VarRequestTime,
	"body_bytes_sent":        VarBodyBytesSent,
	"bytes_sent":             VarBytesSent,
	"time_iso8601":           VarTimeISO8601,
	"time_local":             VarTimeLocal,
	"msec":                   VarMsec,
}

var prefixedVars = []struct {
	prefix string
	kind   VarKind
}{
	// Longer prefixes that end in a shorter one come first.
	{"upstream_http_", VarUpstreamHTTP},
	{"sent_http_", VarSentHTTP},
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
			if p.kind == VarHTTP || p.kind == VarArg || p.kind == VarCookie || p.kind == VarSentHTTP || p.kind == VarUpstreamHTTP {
				rest = strings.ToLower(rest)
			}
			if p.kind == VarHTTP {
				// APISIX's ctx.var writes '-' as '_' in an http_ name
				// (core/ctx.lua), so "http_x-api-key" is X-Api-Key.
				rest = strings.ReplaceAll(rest, "-", "_")
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

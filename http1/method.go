package http1

import "github.com/sluicegw/sluice/internal/httpmethod"

// Method is a request method decoded once at parse time: APISIX's route
// method enum, or MethodOther for any other token (forwarded as sent,
// matched only by routes without a method filter). It is httpmethod's
// type, so its Bit is the bit the router matches route methods with.
type Method = httpmethod.Method

// Methods, in APISIX's enum order (httpmethod's constants under the names
// the parser's API uses).
const (
	MethodOther   = httpmethod.Other
	MethodGet     = httpmethod.Get
	MethodPost    = httpmethod.Post
	MethodPut     = httpmethod.Put
	MethodDelete  = httpmethod.Delete
	MethodPatch   = httpmethod.Patch
	MethodHead    = httpmethod.Head
	MethodOptions = httpmethod.Options
	MethodConnect = httpmethod.Connect
	MethodTrace   = httpmethod.Trace
	MethodPurge   = httpmethod.Purge
)

// methodOf classifies a method token from the request line without allocating.
func methodOf(b []byte) Method {
	switch len(b) {
	case 3:
		if string(b) == "GET" {
			return MethodGet
		}
		if string(b) == "PUT" {
			return MethodPut
		}
	case 4:
		switch string(b) {
		case "POST":
			return MethodPost
		case "HEAD":
			return MethodHead
		}
	case 5:
		switch string(b) {
		case "PATCH":
			return MethodPatch
		case "TRACE":
			return MethodTrace
		case "PURGE":
			return MethodPurge
		}
	case 6:
		if string(b) == "DELETE" {
			return MethodDelete
		}
	case 7:
		switch string(b) {
		case "OPTIONS":
			return MethodOptions
		case "CONNECT":
			return MethodConnect
		}
	}
	return MethodOther
}

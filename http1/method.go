package http1

// Method is a request method decoded once at parse time. The named values are
// APISIX's route method enum; any other token is MethodOther (forwarded
// as sent, matched only by routes without a method filter).
type Method uint8

// Methods, in APISIX's enum order.
const (
	MethodOther Method = iota
	MethodGet
	MethodPost
	MethodPut
	MethodDelete
	MethodPatch
	MethodHead
	MethodOptions
	MethodConnect
	MethodTrace
	MethodPurge
	numMethods
)

var methodNames = [numMethods]string{
	MethodOther: "OTHER", MethodGet: "GET", MethodPost: "POST", MethodPut: "PUT",
	MethodDelete: "DELETE", MethodPatch: "PATCH", MethodHead: "HEAD", MethodOptions: "OPTIONS",
	MethodConnect: "CONNECT", MethodTrace: "TRACE", MethodPurge: "PURGE",
}

func (m Method) String() string {
	if m < numMethods {
		return methodNames[m]
	}
	return "INVALID"
}

// Bit is the method's bit in a MethodSet.
func (m Method) Bit() MethodSet { return 1 << m }

// Idempotent reports whether a request with this method may be sent twice
// (RFC 9110 §9.2.2); MethodOther is assumed not to be.
func (m Method) Idempotent() bool {
	switch m {
	case MethodGet, MethodHead, MethodPut, MethodDelete, MethodOptions, MethodTrace:
		return true
	}
	return false
}

// MethodSet is a bit set of methods; the zero value is empty.
type MethodSet uint16

// Has reports whether m is in the set.
func (s MethodSet) Has(m Method) bool { return s&m.Bit() != 0 }

// ParseMethod maps an exact, case-sensitive method name to its Method;
// ok is false for names outside the enum.
func ParseMethod(name string) (m Method, ok bool) {
	for i := MethodGet; i < numMethods; i++ {
		if methodNames[i] == name {
			return i, true
		}
	}
	return MethodOther, false
}

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

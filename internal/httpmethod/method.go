package httpmethod

// Method is a request method as a small integer: APISIX's route method
// enum, plus Other for every other token (forwarded as sent, matched only
// by routes without a method filter).
type Method uint8

// Methods, in APISIX's enum order; the order is the bit layout of Set.
const (
	Other Method = iota
	Get
	Post
	Put
	Delete
	Patch
	Head
	Options
	Connect
	Trace
	Purge
	numMethods
)

var names = [numMethods]string{
	Other: "OTHER", Get: "GET", Post: "POST", Put: "PUT", Delete: "DELETE", Patch: "PATCH",
	Head: "HEAD", Options: "OPTIONS", Connect: "CONNECT", Trace: "TRACE", Purge: "PURGE",
}

// String returns the method's name ("OTHER" for Other).
func (m Method) String() string {
	if m < numMethods {
		return names[m]
	}
	return "INVALID"
}

// Bit is the method's bit in a Set.
func (m Method) Bit() Set { return 1 << m }

// Idempotent reports whether a request with this method may be sent twice
// (RFC 9110 §9.2.2); Other is assumed not to be.
func (m Method) Idempotent() bool {
	switch m {
	case Get, Head, Put, Delete, Options, Trace:
		return true
	}
	return false
}

// Parse maps an exact, case-sensitive method name of the enum to its
// Method; ok is false for any other name ("OTHER" included).
func Parse(name string) (m Method, ok bool) {
	for i := Get; i < numMethods; i++ {
		if names[i] == name {
			return i, true
		}
	}
	return Other, false
}

// Set is a bit set of methods: bit i is Method i. A route's zero Set means
// "any method"; a request's Set is its one method's Bit.
type Set uint16

// Has reports whether m is in the set.
func (s Set) Has(m Method) bool { return s&m.Bit() != 0 }

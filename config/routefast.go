package config

import (
	"unicode/utf8"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/httpmethod"
	"github.com/sluicegw/sluice/internal/jsonschema"
)

// decodeRouteFast is the validation pipeline for a route of the shape a
// large install has a million of (issue 13: 1M routes from etcd in under
// 10 s), in one pass over its raw JSON: it decodes straight into r,
// checking each property as it reads it against exactly what Routes.Schema
// and Validate would check, and allocates only what r keeps. The general
// path (decodeValue) builds a generic map, reads the route from it and
// walks the schema: 22 allocations and most of the cost of a load.
//
// It returns false, declining, for anything it does not check completely:
// the caller then runs the general path on raw, which accepts the route or
// words the error as APISIX does. So it declines rather than fails: on
// invalid JSON, a document that is not one object, a repeated key, a
// string with a \u escape or invalid UTF-8, a null, a number other than an
// integer of up to 15 digits (exact in the float64 the schema checks), a
// property it does not read, and any value the schema or Validate refuses.
//
// It reads id, uri, uris, name, desc, host, hosts, methods, upstream_id,
// service_id, plugin_config_id, priority, status, enable_websocket, labels,
// create_time and update_time. It does not read plugins, upstream, vars,
// remote_addr(s), timeout, filter_func, script(_id) or service_protocol,
// so a route it takes has neither plugin confs nor secrets: the pipeline's
// later steps have nothing to check in it (Pipeline.LoadRoute relies on
// that). Where the schema demands one of plugins, upstream, script,
// upstream_id or service_id, the route must therefore name upstream_id or
// service_id.
//
// A route it takes is the one the general path makes from the same
// bytes: the key is its id, a missing "id" is checked as the key would be,
// absent status and priority stay nil and zero (defaults go into the JSON
// value the Admin API stores, not the Route), and Normalize runs on it.
// routefast_test.go checks all that against the general path over a corpus
// and a fuzz target. It overwrites all of r whatever it returns.
func decodeRouteFast(id string, raw []byte, r *Route) bool {
	if builtinErr != nil {
		return false // every decode fails; the general path says why
	}
	*r = Route{}
	d := routeDecoder{b: raw}
	if !d.object(r) {
		return false
	}
	switch {
	case d.seen.has(propURI) == d.seen.has(propURIs): // the schema: oneOf uri, uris
	case d.seen.has(propHost) && d.seen.has(propHosts): // Validate: only one of host or hosts
	case !d.seen.has(propUpstreamID) && !d.seen.has(propServiceID): // the schema's anyOf, less what declines
	case !d.seen.has(propID) && ValidateID(id) != nil: // the key stands in for a missing id
	default:
		r.ID = ID{S: id}
		return r.Normalize() == nil
	}
	return false
}

// routeProp is a property decodeRouteFast reads, as a bit of a propSet.
type routeProp uint32

const (
	propID routeProp = 1 << iota
	propURI
	propURIs
	propName
	propDesc
	propHost
	propHosts
	propMethods
	propUpstreamID
	propServiceID
	propPluginConfigID
	propPriority
	propStatus
	propEnableWebsocket
	propLabels
	propCreateTime
	propUpdateTime
)

// propSet is the properties read so far.
type propSet uint32

func (s propSet) has(p routeProp) bool { return s&propSet(p) != 0 }

// The limits and patterns of APISIX's route schema (schema/apisix.json) for
// the properties decodeRouteFast reads; TestFastRouteSchemaPinned fails
// when the schema changes under them.
const (
	maxURILen   = 4096 // uri: minLength 1
	maxNameLen  = 256  // definitions.name: minLength 1; definitions.desc: no minimum
	maxLabelLen = 256  // definitions.labels values: minLength 1
)

var (
	// hostChars is definitions.host's pattern ^\*$|^\*?[0-9a-zA-Z-._\[\]:]+$
	// without its wildcard: a host is "*", or this after an optional "*".
	hostChars = jsonschema.MustCompilePattern(`^[0-9a-zA-Z-._\[\]:]+$`)
	// labelValue is definitions.labels' pattern for a value.
	labelValue = jsonschema.MustCompilePattern(`^\S+$`)
)

// routeDecoder reads one route's JSON; every method reports false for
// anything decodeRouteFast declines.
type routeDecoder struct {
	b    []byte
	i    int
	seen propSet
}

// object reads the document: one object, nothing after it but space.
func (d *routeDecoder) object(r *Route) bool {
	if !d.next('{') || d.next('}') { // {} lacks a uri
		return false
	}
	for {
		key, ok := d.key()
		if !ok || !d.next(':') || !d.property(key, r) {
			return false
		}
		if d.next(',') {
			continue
		}
		if !d.next('}') {
			return false
		}
		d.space()
		return d.i == len(d.b)
	}
}

// property reads the value of the property called key into r.
func (d *routeDecoder) property(key []byte, r *Route) bool {
	var p routeProp
	ok := false
	switch bytestr.String(key) {
	case "id": // the key is the id; the value only has to be a valid one
		p = propID
		var v []byte
		v, ok = d.str()
		ok = ok && ValidateID(bytestr.String(v)) == nil
	case "uri":
		p = propURI
		r.URI, ok = d.text(1, maxURILen)
	case "uris":
		p = propURIs
		r.URIs, ok = d.list(func([]byte) bool { return true })
	case "name":
		p = propName
		r.Name, ok = d.text(1, maxNameLen)
	case "desc":
		p = propDesc
		r.Desc, ok = d.text(0, maxNameLen)
	case "host":
		p = propHost
		var v []byte
		if v, ok = d.str(); ok && validHost(v) {
			r.Host = string(v)
		} else {
			ok = false
		}
	case "hosts":
		p = propHosts
		r.HostList, ok = d.list(validHost)
	case "methods":
		p = propMethods
		r.Methods, ok = d.methods()
	case "upstream_id":
		p = propUpstreamID
		r.UpstreamID, ok = d.id()
	case "service_id":
		p = propServiceID
		r.ServiceID, ok = d.id()
	case "plugin_config_id":
		p = propPluginConfigID
		r.PluginConfigID, ok = d.id()
	case "priority":
		p = propPriority
		var n int64
		n, ok = d.integer()
		r.Priority = int(n)
	case "status": // enum 1, 0
		p = propStatus
		var n int64
		if n, ok = d.integer(); ok && (n == 0 || n == 1) {
			s := int(n)
			r.Status = &s
		} else {
			ok = false
		}
	case "enable_websocket":
		p = propEnableWebsocket
		var b bool
		b, ok = d.boolean()
		r.EnableWebsocket = &b
	case "labels":
		p = propLabels
		r.Labels, ok = d.labels()
	case "create_time":
		p = propCreateTime
		r.CreateTime, ok = d.integer()
	case "update_time":
		p = propUpdateTime
		r.UpdateTime, ok = d.integer()
	}
	if !ok || d.seen.has(p) {
		return false // unknown, refused, or repeated (the last would win)
	}
	d.seen |= propSet(p)
	return true
}

// validHost checks a host against definitions.host's pattern.
func validHost(v []byte) bool {
	if len(v) == 1 && v[0] == '*' {
		return true
	}
	if len(v) > 0 && v[0] == '*' {
		v = v[1:]
	}
	return hostChars.MatchString(bytestr.String(v))
}

// id reads an id property (definitions.id) written as a string; a number
// declines: the general path keeps its form.
func (d *routeDecoder) id() (ID, bool) {
	v, ok := d.str()
	if !ok || ValidateID(bytestr.String(v)) != nil {
		return ID{}, false
	}
	return ID{S: string(v)}, true
}

// text reads a string of min to max characters (code points, as the
// schema counts them).
func (d *routeDecoder) text(min, max int) (string, bool) {
	v, ok := d.str()
	if !ok {
		return "", false
	}
	if n := utf8.RuneCount(v); n < min || n > max {
		return "", false
	}
	return string(v), true
}

// list reads an array of strings, each passing valid: the schema's
// minItems 1 and uniqueItems.
func (d *routeDecoder) list(valid func([]byte) bool) ([]string, bool) {
	if !d.next('[') || d.next(']') {
		return nil, false
	}
	var out []string
	for {
		v, ok := d.str()
		if !ok || !valid(v) {
			return nil, false
		}
		for _, s := range out {
			if s == bytestr.String(v) {
				return nil, false
			}
		}
		out = append(out, string(v))
		if d.next(',') {
			continue
		}
		return out, d.next(']')
	}
}

// methods reads the methods array: names of the schema's enum, which is
// httpmethod's, each once. The names kept are httpmethod's constants.
func (d *routeDecoder) methods() ([]string, bool) {
	if !d.next('[') {
		return nil, false
	}
	out := []string{} // [] is a filter of no method, not an absent one
	if d.next(']') {
		return out, true
	}
	var set httpmethod.Set
	for {
		v, ok := d.str()
		if !ok {
			return nil, false
		}
		m, ok := httpmethod.Parse(bytestr.String(v))
		if !ok || set.Has(m) {
			return nil, false
		}
		set |= m.Bit()
		out = append(out, m.String())
		if d.next(',') {
			continue
		}
		return out, d.next(']')
	}
}

// labels reads the labels object: any key, each value a string of 1 to 256
// characters without white space.
func (d *routeDecoder) labels() (map[string]string, bool) {
	if !d.next('{') {
		return nil, false
	}
	out := map[string]string{}
	if d.next('}') {
		return out, true
	}
	for {
		k, ok := d.key()
		if !ok || !d.next(':') {
			return nil, false
		}
		v, ok := d.str()
		if !ok || !labelValue.MatchString(bytestr.String(v)) {
			return nil, false
		}
		if n := utf8.RuneCount(v); n > maxLabelLen { // the pattern wants at least one
			return nil, false
		}
		if _, dup := out[bytestr.String(k)]; dup {
			return nil, false
		}
		out[string(k)] = string(v)
		if d.next(',') {
			continue
		}
		return out, d.next('}')
	}
}

// key reads an object key: a string, escapes unescaped.
func (d *routeDecoder) key() ([]byte, bool) {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	return d.str()
}

// str reads a string value. The bytes are a view of the document when the
// string has no escape, else a copy unescaped; either way the caller copies
// what it keeps. \u escapes decline (surrogates and invalid code points are
// encoding/json's to settle).
func (d *routeDecoder) str() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	s, next, _, ok := jsonschema.ScanString(d.b, d.i, nil)
	if ok {
		d.i = next
	}
	return s, ok
}

// integer reads a number written as an integer of at most 15 digits: exact
// in the float64 the schema checks it as, and read the same by both of the
// general path's decoders. Fractions and exponents (1.0 is an integer to
// the schema) and longer integers decline.
func (d *routeDecoder) integer() (int64, bool) {
	d.space()
	neg := d.i < len(d.b) && d.b[d.i] == '-'
	if neg {
		d.i++
	}
	start := d.i
	var n int64
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		if d.i-start == 15 {
			return 0, false
		}
		n = n*10 + int64(d.b[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 1 && d.b[start] == '0' {
		return 0, false // not a number, or a leading zero JSON does not allow
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// boolean reads true or false.
func (d *routeDecoder) boolean() (bool, bool) {
	d.space()
	rest := bytestr.String(d.b[d.i:])
	switch {
	case len(rest) >= 4 && rest[:4] == "true":
		d.i += 4
		return true, true
	case len(rest) >= 5 && rest[:5] == "false":
		d.i += 5
		return false, true
	}
	return false, false
}

// next consumes c if it is the next byte past white space.
func (d *routeDecoder) next(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

func (d *routeDecoder) space() { d.i = jsonschema.SkipSpace(d.b, d.i) }

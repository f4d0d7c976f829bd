package config

import (
	"math"
	"time"
)

// routeFromValue reads a route into r from its generic JSON value (as
// DecodeJSON returns it, before Validate fills in defaults), instead of
// parsing its raw JSON a second time with encoding/json's reflection. A
// route is the object a large install has a million of, and that second
// parse was the largest part of loading one (issue 13: a 1M-route load
// from etcd). It overwrites all of r.
//
// It returns false, and the caller decodes raw as before (decodeRoute), for
// anything whose typed form the generic value cannot give exactly: plugins
// and vars (kept as raw JSON), an inline upstream (its own decoding),
// numeric ids, numbers that are not integers, a key it does not know, a
// value of an unexpected type. So a route it reads is the one decodeRoute
// reads from the same bytes (routedecode_test.go checks that, and its fuzz
// target keeps checking it), with one difference: an integer field written
// as 1.0 or 1e0 is read as the integer it is, where encoding/json refuses
// it (APISIX, in Lua, accepts it too). The caller still validates the value
// and normalizes the route.
func routeFromValue(value map[string]any, r *Route) bool {
	*r = Route{}
	for k, v := range value {
		if v == nil {
			// null: the typed decode leaves a plain field as it is (zero),
			// but hands it to an UnmarshalJSON (ids, seconds, vars).
			switch k {
			case "name", "desc", "uri", "host", "remote_addr", "filter_func", "script", "service_protocol",
				"uris", "methods", "hosts", "remote_addrs", "labels", "priority", "status", "create_time",
				"update_time", "enable_websocket":
				continue
			}
			return false
		}
		ok := true
		switch k {
		case "id":
			// The key is the id (decodeRoute overrides it); the value must
			// still be one the typed decode accepts.
			s, isStr := v.(string)
			ok = isStr && ValidateID(s) == nil
		case "name":
			r.Name, ok = v.(string)
		case "desc":
			r.Desc, ok = v.(string)
		case "uri":
			r.URI, ok = v.(string)
		case "host":
			r.Host, ok = v.(string)
		case "remote_addr":
			r.RemoteAddr, ok = v.(string)
		case "filter_func":
			r.FilterFunc, ok = v.(string)
		case "script":
			r.Script, ok = v.(string)
		case "service_protocol":
			r.ServiceProtocol, ok = v.(string)
		case "uris":
			r.URIs, ok = stringList(v)
		case "methods":
			r.Methods, ok = stringList(v)
		case "hosts":
			r.HostList, ok = stringList(v)
		case "remote_addrs":
			r.RemoteAddrList, ok = stringList(v)
		case "labels":
			r.Labels, ok = stringMap(v)
		case "priority":
			var n int64
			n, ok = integer(v)
			r.Priority = int(n)
		case "status":
			var n int64
			n, ok = integer(v)
			s := int(n)
			r.Status = &s
		case "create_time":
			r.CreateTime, ok = integer(v)
		case "update_time":
			r.UpdateTime, ok = integer(v)
		case "enable_websocket":
			var b bool
			b, ok = v.(bool)
			r.EnableWebsocket = &b
		case "service_id":
			r.ServiceID, ok = stringID(v)
		case "upstream_id":
			r.UpstreamID, ok = stringID(v)
		case "plugin_config_id":
			r.PluginConfigID, ok = stringID(v)
		case "script_id":
			r.ScriptID, ok = stringID(v)
		case "timeout":
			r.Timeout, ok = timeout(v)
		default: // plugins, vars, upstream, and keys this does not know
			ok = false
		}
		if !ok {
			return false
		}
	}
	return true
}

func stringList(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]string, len(list))
	for i, e := range list {
		if out[i], ok = e.(string); !ok {
			return nil, false
		}
	}
	return out, true
}

func stringMap(v any) (map[string]string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out[k] = s
	}
	return out, true
}

// integer is a JSON number the typed decode reads into an integer: whole,
// and exact in a float64.
func integer(v any) (int64, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

func stringID(v any) (ID, bool) {
	s, ok := v.(string)
	if !ok || ValidateID(s) != nil {
		return ID{}, false // a number, or an error the typed decode words
	}
	return ID{S: s}, true
}

func timeout(v any) (*Timeout, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	t := &Timeout{}
	for k, e := range m {
		f, ok := e.(float64)
		if !ok {
			return nil, false
		}
		d := Seconds(f * float64(time.Second))
		switch k {
		case "connect":
			t.Connect = d
		case "send":
			t.Send = d
		case "read":
			t.Read = d
		default:
			return nil, false
		}
	}
	return t, true
}

package config

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicegw/sluice/internal/jsonschema"
)

// Kind is one of APISIX's resource types: its etcd directory (also its Admin
// API path), its schema and its decoder.
type Kind struct {
	// Name is the directory: "routes", "plugin_configs", ...
	Name string
	// Noun names one object in messages: "route", "plugin config".
	Noun string
	// Schema is the JSON schema objects must satisfy.
	Schema *jsonschema.Schema
	// KeyField, when set, is the body field that names the object instead
	// of "id" (consumers are keyed by username).
	KeyField string

	decode func(id string, raw []byte) (Object, error)
}

// Object is a decoded, validated configuration object: *Route, *Service,
// *Upstream, *Consumer, *Credential, *PluginSet, *SSL or *Metadata.
type Object interface {
	// ObjectID is the object's id: the last segment of its etcd key.
	ObjectID() string
}

//go:embed schema/apisix.json
var schemaDocument []byte

// The kinds sluice understands, in the order a full load applies them
// (referenced objects before the objects that reference them).
var (
	Upstreams      = &Kind{Name: "upstreams", Noun: "upstream"}
	Services       = &Kind{Name: "services", Noun: "service"}
	PluginConfigs  = &Kind{Name: "plugin_configs", Noun: "plugin config"}
	ConsumerGroups = &Kind{Name: "consumer_groups", Noun: "consumer group"}
	Consumers      = &Kind{Name: "consumers", Noun: "consumer", KeyField: "username"}
	Credentials    = &Kind{Name: "credentials", Noun: "credential"}
	GlobalRules    = &Kind{Name: "global_rules", Noun: "global rule"}
	SSLs           = &Kind{Name: "ssls", Noun: "ssl"}
	PluginMetadata = &Kind{Name: "plugin_metadata", Noun: "plugin_metadata"}
	Routes         = &Kind{Name: "routes", Noun: "route"}
	// LuaPlugins is sluice's own kind: a Lua plugin module's source in
	// etcd (lua_plugins/<plugin name>), so one write loads or reloads a
	// plugin on every node sharing the etcd. APISIX ignores the directory.
	LuaPlugins = &Kind{Name: "lua_plugins", Noun: "lua plugin"}

	// Kinds lists every kind in dependency order (Lua plugins first: the
	// objects after them may name those plugins).
	Kinds = []*Kind{LuaPlugins, Upstreams, Services, PluginConfigs, ConsumerGroups, Consumers, Credentials, GlobalRules, SSLs, PluginMetadata, Routes}
)

// CoreSchemas are the schemas /apisix/admin/schema/<name> serves, by the
// names APISIX uses there (singular).
var CoreSchemas = map[string]*jsonschema.Schema{}

// builtinErr is set if the built-in schema document does not compile:
// every Decode then fails with it (TestBuiltinSchemasCompile keeps it nil).
var builtinErr error

func init() {
	Routes.decode = decodeRoute
	Services.decode = decodeService
	Upstreams.decode = decodeUpstream
	Consumers.decode = decodeConsumer
	Credentials.decode = decodeCredential
	PluginConfigs.decode = decodePluginSet
	ConsumerGroups.decode = decodePluginSet
	GlobalRules.decode = decodePluginSet
	SSLs.decode = decodeSSL
	PluginMetadata.decode = decodePluginMetadata
	LuaPlugins.decode = decodeLuaPlugin
	builtinErr = compileBuiltinSchemas()
}

func compileBuiltinSchemas() error {
	var doc struct {
		Definitions map[string]any `json:"definitions"`
		Resources   map[string]any `json:"resources"`
	}
	if err := json.Unmarshal(schemaDocument, &doc); err != nil {
		return fmt.Errorf("config: built-in schema document: %w", err)
	}
	for _, k := range Kinds {
		if k == PluginMetadata {
			continue // each plugin has its own metadata schema
		}
		res, ok := doc.Resources[k.Name].(map[string]any)
		if !ok {
			return fmt.Errorf("config: built-in schema document lacks %s", k.Name)
		}
		sch, err := jsonschema.Compile(res, doc.Definitions)
		if err != nil {
			return fmt.Errorf("config: built-in schema for %s: %w", k.Name, err)
		}
		k.Schema = sch
	}
	for name, k := range map[string]*Kind{
		"route": Routes, "service": Services, "upstream": Upstreams, "consumer": Consumers,
		"credential": Credentials, "consumer_group": ConsumerGroups, "plugin_config": PluginConfigs,
		"global_rule": GlobalRules, "ssl": SSLs,
	} {
		CoreSchemas[name] = k.Schema
	}
	return nil
}

// KindByName returns the kind stored under directory name, or nil.
func KindByName(name string) *Kind {
	for _, k := range Kinds {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Decode runs the first steps of the validation pipeline on one object:
// it must be a JSON object, satisfy the kind's schema and the rules the
// schema cannot express, and it comes back in its runtime form. It skips
// the checks (plugin confs, secrets, ssl key pairs): it is what the Admin
// API's /schema/validate answers. Objects a client writes or a source reads
// go through a Pipeline instead. id is the object's key (the data plane
// always uses the key, whatever id the value carries). The error text is
// APISIX's, e.g. "invalid configuration: property \"uri\" validation
// failed: ...".
func (k *Kind) Decode(id string, raw []byte) (Object, error) {
	var into *Route
	if k == Routes { // nobody here needs the JSON value: a route may take the fast decoder
		into = &Route{}
		if decodeRouteFast(id, raw, into) {
			return into, nil
		}
	}
	obj, _, err := k.decodeValue(id, raw, into)
	return obj, err
}

// decodeValue is Decode that also returns the validated JSON value with
// APISIX's defaults filled in: what the Admin API stores. A route is
// decoded into into when it is not nil (it is overwritten whatever the
// outcome), else into a new Route.
func (k *Kind) decodeValue(id string, raw []byte, into *Route) (Object, map[string]any, error) {
	if builtinErr != nil {
		return nil, nil, builtinErr
	}
	v, err := jsonschema.DecodeJSON(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: invalid JSON: %w", ErrInvalid, err)
	}
	value, ok := v.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%w: invalid item data, it should be an object", ErrInvalid)
	}
	var route *Route // set when read from value
	if k == Routes {
		if into == nil {
			into = &Route{}
		}
		if routeFromValue(value, into) { // before Validate adds defaults; false: decode raw
			route = into
		}
	}
	if _, ok := value["id"]; !ok && k.KeyField == "" && k != PluginMetadata && k != LuaPlugins {
		// The Admin API always stores the id; data written by hand may
		// lack it, and the key is the id anyway.
		value["id"] = id
	}
	if err := k.Validate(value); err != nil {
		return nil, nil, err
	}
	var obj Object
	switch {
	case route != nil:
		route.ID = ID{S: id}
		err = route.Normalize()
		obj = route
	case k == Routes:
		err = decodeRouteInto(id, raw, into)
		obj = into
	default:
		obj, err = k.decode(id, raw)
	}
	if err != nil {
		return nil, nil, err
	}
	return obj, value, nil
}

// Validate checks a decoded JSON object against the kind's rules that do
// not need the object's runtime form, filling in defaults.
func (k *Kind) Validate(value map[string]any) error {
	if k == Routes {
		if _, ok := value["host"]; ok {
			if _, ok := value["hosts"]; ok {
				return invalidf("only one of host or hosts is allowed")
			}
		}
		if _, ok := value["remote_addr"]; ok {
			if _, ok := value["remote_addrs"]; ok {
				return invalidf("only one of remote_addr or remote_addrs is allowed")
			}
		}
	}
	if k.Schema == nil {
		return nil
	}
	if err := k.Schema.Validate(value); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Plugins is an object's plugins field: plugin name → raw conf.
type Plugins map[string]json.RawMessage

// Names returns the plugin names, sorted.
func (p Plugins) Names() []string {
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Meta is the metadata every object may carry.
type Meta struct {
	Name       string            `json:"name,omitempty"`
	Desc       string            `json:"desc,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	CreateTime int64             `json:"create_time,omitempty"`
	UpdateTime int64             `json:"update_time,omitempty"`
}

// Service is an APISIX service: defaults a route inherits (upstream, hosts,
// plugins, enable_websocket).
type Service struct {
	ID ID `json:"id,omitzero"`
	Meta
	Plugins         Plugins   `json:"plugins,omitempty"`
	Upstream        *Upstream `json:"upstream,omitempty"`
	UpstreamID      ID        `json:"upstream_id,omitzero"`
	Script          string    `json:"script,omitempty"`
	EnableWebsocket *bool     `json:"enable_websocket,omitempty"`
	Hosts           []string  `json:"hosts,omitempty"`
}

// ObjectID implements Object.
func (s *Service) ObjectID() string { return s.ID.S }

// Consumer is an APISIX consumer, keyed by username.
type Consumer struct {
	Username string  `json:"username"`
	GroupID  ID      `json:"group_id,omitzero"`
	Plugins  Plugins `json:"plugins,omitempty"`
	Meta
}

// ObjectID implements Object.
func (c *Consumer) ObjectID() string { return c.Username }

// Credential is one authentication credential of a consumer
// (consumers/<username>/credentials/<id>).
type Credential struct {
	ID ID `json:"id,omitzero"`
	Meta
	Plugins Plugins `json:"plugins,omitempty"`

	// Consumer is the owning consumer's username (from the key).
	Consumer string `json:"-"`
}

// ObjectID implements Object.
func (c *Credential) ObjectID() string { return c.ID.S }

// PluginSet is the shape plugin_configs, consumer_groups and global_rules
// share: an id and a set of plugin confs.
type PluginSet struct {
	ID ID `json:"id,omitzero"`
	Meta
	Plugins Plugins `json:"plugins"`
}

// ObjectID implements Object.
func (p *PluginSet) ObjectID() string { return p.ID.S }

// Metadata is a plugin's global metadata (plugin_metadata/<plugin>); its
// shape is the plugin's.
type Metadata struct {
	Plugin string
	Value  json.RawMessage
}

// ObjectID implements Object.
func (p *Metadata) ObjectID() string { return p.Plugin }

func decodeRoute(id string, raw []byte) (Object, error) {
	var r Route
	if err := decodeRouteInto(id, raw, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeRouteInto is decodeRoute into r, which it overwrites.
func decodeRouteInto(id string, raw []byte, r *Route) error {
	*r = Route{}
	if err := unmarshal(raw, r); err != nil {
		return err
	}
	r.ID = ID{S: id}
	return r.Normalize()
}

func decodeUpstream(id string, raw []byte) (Object, error) {
	var u Upstream
	if err := unmarshal(raw, &u); err != nil {
		return nil, err
	}
	u.ID = ID{S: id}
	if err := u.Normalize(); err != nil {
		return nil, err
	}
	return &u, nil
}

func decodeService(id string, raw []byte) (Object, error) {
	var s Service
	if err := unmarshal(raw, &s); err != nil {
		return nil, err
	}
	s.ID = ID{S: id}
	for i, h := range s.Hosts {
		s.Hosts[i] = strings.ToLower(h)
	}
	if s.Upstream != nil {
		if err := s.Upstream.Normalize(); err != nil {
			return nil, err
		}
	}
	return &s, nil
}

func decodeConsumer(id string, raw []byte) (Object, error) {
	var c Consumer
	if err := unmarshal(raw, &c); err != nil {
		return nil, err
	}
	c.Username = id
	return &c, nil
}

func decodeCredential(id string, raw []byte) (Object, error) {
	var c Credential
	if err := unmarshal(raw, &c); err != nil {
		return nil, err
	}
	c.ID = ID{S: id}
	return &c, nil
}

func decodePluginSet(id string, raw []byte) (Object, error) {
	var p PluginSet
	if err := unmarshal(raw, &p); err != nil {
		return nil, err
	}
	p.ID = ID{S: id}
	return &p, nil
}

// LuaPlugin is a Lua plugin module's source (lua_plugins/<name>).
type LuaPlugin struct {
	Name   string `json:"-"`
	Source string `json:"source"`
	Desc   string `json:"desc,omitempty"`
}

// ObjectID implements Object.
func (p *LuaPlugin) ObjectID() string { return p.Name }

func decodeLuaPlugin(id string, raw []byte) (Object, error) {
	var p LuaPlugin
	if err := unmarshal(raw, &p); err != nil {
		return nil, err
	}
	p.Name = id
	return &p, nil
}

func decodePluginMetadata(id string, raw []byte) (Object, error) {
	return &Metadata{Plugin: id, Value: append(json.RawMessage(nil), raw...)}, nil
}

// unmarshal decodes an object the schema has accepted into its typed form.
// Errors here come from the few checks a type's UnmarshalJSON makes.
func unmarshal(raw []byte, v any) error {
	err := json.Unmarshal(raw, v)
	if err == nil || errors.Is(err, ErrInvalid) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

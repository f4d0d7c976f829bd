package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	stdsync "sync"
	"sync/atomic"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/jsonschema"
	"github.com/sluicegw/sluice/lua"
)

// DefaultEnabled is APISIX's default plugins list (apisix/cli/config.lua,
// 3.18), in its order. A config.yaml without a plugins list enables those
// of them sluice has.
var DefaultEnabled = []string{
	"real-ip", "ai", "client-control", "proxy-buffering", "proxy-control", "request-id", "zipkin",
	"ext-plugin-pre-req", "fault-injection", "mocking", "serverless-pre-function", "cors", "ip-restriction",
	"ua-restriction", "referer-restriction", "csrf", "uri-blocker", "request-validation", "chaitin-waf",
	"multi-auth", "openid-connect", "saml-auth", "cas-auth", "authz-casbin", "authz-casdoor", "wolf-rbac",
	"ldap-auth-advanced", "ldap-auth", "hmac-auth", "basic-auth", "jwt-auth", "jwe-decrypt", "key-auth",
	"dingtalk-auth", "feishu-auth", "acl", "consumer-restriction", "attach-consumer-label", "forward-auth",
	"opa", "authz-keycloak", "data-mask", "proxy-cache", "body-transformer", "ai-prompt-template",
	"ai-prompt-decorator", "ai-prompt-guard", "ai-rag", "ai-rate-limiting", "ai-proxy-multi", "ai-proxy",
	"ai-cache", "ai-aws-content-moderation", "ai-aliyun-content-moderation", "ai-lakera-guard", "proxy-mirror",
	"graphql-proxy-cache", "proxy-rewrite", "workflow", "api-breaker", "graphql-limit-count", "limit-conn",
	"limit-count", "limit-req", "gzip", "traffic-label", "traffic-split", "redirect", "response-rewrite",
	"oas-validator", "mcp-bridge", "degraphql", "kafka-proxy", "grpc-transcode", "grpc-web", "http-dubbo",
	"public-api", "prometheus", "datadog", "lago", "loki-logger", "elasticsearch-logger", "echo", "loggly",
	"http-logger", "splunk-hec-logging", "skywalking-logger", "google-cloud-logging", "sls-logger",
	"tcp-logger", "kafka-logger", "rocketmq-logger", "syslog", "udp-logger", "file-logger",
	"clickhouse-logger", "tencent-cloud-cls", "inspect", "example-plugin", "aws-lambda", "azure-functions",
	"openwhisk", "openfunction", "serverless-post-function", "ext-plugin-post-req", "ext-plugin-post-resp",
	"ai-request-rewrite",
}

// Errors of the registry.
var (
	// ErrNotEnabled: a known plugin that config.yaml's plugins list leaves out.
	ErrNotEnabled = errors.New("plugin: not enabled")
	// ErrBadConf: a conf that is not a JSON object.
	ErrBadConf = errors.New("plugin: conf is not an object")
)

// Registry is the set of plugins this node runs, with their schemas
// compiled: the config.PluginChecker every object is validated through, and
// what compiles confs into chains. Safe from any goroutine; Enable swaps
// the enabled set atomically.
type Registry struct {
	lg      *slog.Logger
	lua     *lua.Runtime
	enabled atomic.Pointer[enabledSet]
	meta    *jsonschema.Schema // _meta

	// mu serializes changes to the enabled set (start-up, plugins reload,
	// Lua plugins arriving from etcd); readers use enabled without it.
	mu struct {
		stdsync.Mutex
		names   []string        // config.yaml's plugins list; nil: the default list
		fileLua map[string]*Def // Lua plugins loaded from extra_lua_path
		etcdLua map[string]*Def // Lua plugins from etcd (lua_plugins), always enabled
		luaPath string          // extra_lua_path
	}
}

// Option configures a Registry.
type Option func(*Registry)

// WithLua gives plugins a Lua runtime: serverless functions, Lua plugin
// files and _meta.pre_function run on it. Without one they are refused.
func WithLua(rt *lua.Runtime) Option { return func(r *Registry) { r.lua = rt } }

type enabledSet struct {
	byName map[string]*compiledDef
	order  []string // by descending priority, as /plugins/list answers
}

// compiledDef is a Def with its schemas compiled.
type compiledDef struct {
	*Def
	schema, consumer, metadata *jsonschema.Schema
}

var _ config.PluginChecker = (*Registry)(nil)

// NewRegistry enables the named plugins (nil: DefaultEnabled). Names sluice
// does not have are left out with a warning, as APISIX does for unknown
// names in its list.
func NewRegistry(names []string, lg *slog.Logger, opts ...Option) (*Registry, error) {
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	meta, err := compileSchema(metaSchema)
	if err != nil {
		return nil, fmt.Errorf("plugin: _meta schema: %w", err)
	}
	r := &Registry{lg: lg, meta: meta}
	for _, o := range opts {
		o(r)
	}
	if err := r.Enable(names); err != nil {
		return nil, err
	}
	return r, nil
}

// Enable replaces the enabled set: config.yaml's plugins list (nil: APISIX's
// default list). Chains compiled from the old set keep running until the
// next config version replaces them.
func (r *Registry) Enable(names []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mu.names = names
	return r.rebuildLocked()
}

// rebuildLocked makes the enabled set from the configured names, the
// built-in plugins, and the Lua plugins loaded from files and etcd. A Lua
// plugin of the same name as a built-in overrides it, as a file on
// APISIX's extra_lua_path does.
func (r *Registry) rebuildLocked() error {
	names := r.mu.names
	explicit := names != nil
	if !explicit {
		names = DefaultEnabled
	}
	defs := map[string]*Def{}
	for _, d := range Catalog() {
		defs[d.Name] = d
	}
	for n, d := range r.mu.fileLua {
		defs[n] = d
	}
	set := &enabledSet{byName: map[string]*compiledDef{}, order: []string{}} // [] not null when none
	add := func(d *Def) error {
		if _, dup := set.byName[d.Name]; dup {
			return nil
		}
		cd, err := compileDef(d)
		if err != nil {
			return err
		}
		set.byName[d.Name] = cd
		set.order = append(set.order, d.Name)
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(r.mu.etcdLua)) {
		if err := add(r.mu.etcdLua[n]); err != nil {
			return err
		}
	}
	for _, n := range names {
		d := defs[n]
		if d == nil {
			if explicit && r.mu.etcdLua[n] == nil {
				r.lg.Warn("plugin not found in sluice, not enabled", "plugin", n)
			}
			continue
		}
		if err := add(d); err != nil {
			return err
		}
	}
	slices.SortStableFunc(set.order, func(a, b string) int { return set.byName[b].Priority - set.byName[a].Priority })
	r.enabled.Store(set)
	return nil
}

// Reload is plugins reload: the enabled list (config.yaml's plugins, read
// again) and the Lua plugin files named in it, loaded again from path
// (extra_lua_path) and compiled. On any error nothing changes: the
// running set stays, and the error says which file failed.
func (r *Registry) Reload(names []string, path string) error {
	list := names
	if list == nil {
		list = DefaultEnabled
	}
	files := map[string]*Def{}
	if path != "" {
		for _, n := range list {
			file, src, ok := lua.FindModule(path, "apisix.plugins."+n)
			if !ok {
				continue
			}
			if r.lua == nil {
				return fmt.Errorf("plugin %s is a Lua file (%s), but this node runs no Lua", n, file)
			}
			m, err := lua.LoadModule(n, file, string(src))
			if err != nil {
				return err
			}
			files[n] = LuaDef(m)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old, oldNames, oldPath := r.mu.fileLua, r.mu.names, r.mu.luaPath
	r.mu.fileLua, r.mu.names, r.mu.luaPath = files, names, path
	if err := r.rebuildLocked(); err != nil {
		r.mu.fileLua, r.mu.names, r.mu.luaPath = old, oldNames, oldPath
		return err
	}
	for n, d := range files {
		r.lg.Info("loaded Lua plugin", "plugin", n, "file", d.lua.Source, "priority", d.Priority)
	}
	return nil
}

// LuaPath returns extra_lua_path as last loaded.
func (r *Registry) LuaPath() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.luaPath
}

// SetEtcdLua installs (source non-empty) or removes a Lua plugin written
// to etcd under lua_plugins/<name>; such plugins are enabled without being
// listed in config.yaml.
func (r *Registry) SetEtcdLua(name, source string) error {
	var d *Def
	if source != "" {
		if r.lua == nil {
			return fmt.Errorf("lua plugin %s: this node runs no Lua", name)
		}
		m, err := lua.LoadModule(name, "etcd:lua_plugins/"+name, source)
		if err != nil {
			return err
		}
		d = LuaDef(m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.mu.etcdLua[name]
	if r.mu.etcdLua == nil {
		r.mu.etcdLua = map[string]*Def{}
	}
	if d == nil {
		delete(r.mu.etcdLua, name)
	} else {
		r.mu.etcdLua[name] = d
	}
	if err := r.rebuildLocked(); err != nil {
		if old == nil {
			delete(r.mu.etcdLua, name)
		} else {
			r.mu.etcdLua[name] = old
		}
		return err
	}
	return nil
}

func compileDef(d *Def) (*compiledDef, error) {
	cd := &compiledDef{Def: d}
	var err error
	if cd.schema, err = compileSchema(d.Schema); err != nil {
		return nil, fmt.Errorf("plugin: %s schema: %w", d.Name, err)
	}
	if cd.consumer, err = compileSchema(d.ConsumerSchema); err != nil {
		return nil, fmt.Errorf("plugin: %s consumer schema: %w", d.Name, err)
	}
	if cd.metadata, err = compileSchema(d.MetadataSchema); err != nil {
		return nil, fmt.Errorf("plugin: %s metadata schema: %w", d.Name, err)
	}
	return cd, nil
}

func compileSchema(src string) (*jsonschema.Schema, error) {
	if src == "" {
		return nil, nil
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		return nil, err
	}
	defs, _ := doc["definitions"].(map[string]any)
	return jsonschema.Compile(doc, defs)
}

// def returns the enabled plugin called name, or nil.
func (r *Registry) def(name string) *compiledDef { return r.enabled.Load().byName[name] }

// Enabled reports whether the named plugin is enabled.
func (r *Registry) Enabled(name string) bool { return r.def(name) != nil }

// Def returns the enabled plugin called name, or nil.
func (r *Registry) Def(name string) *Def {
	if cd := r.def(name); cd != nil {
		return cd.Def
	}
	return nil
}

// IsAuth reports whether the named plugin is enabled and an auth plugin
// (APISIX's type = "auth"): the only kind a credential object may hold.
func (r *Registry) IsAuth(name string) bool {
	cd := r.def(name)
	return cd != nil && cd.Auth
}

// List returns the enabled plugins' names by descending priority
// (/apisix/admin/plugins/list).
func (r *Registry) List() []string { return append([]string{}, r.enabled.Load().order...) }

// Lua returns the registry's Lua runtime (nil without one).
func (r *Registry) Lua() *lua.Runtime { return r.lua }

// Schema returns the named plugin's schema of the given type ("" or
// "route", "consumer", "metadata"), or false.
func (r *Registry) Schema(name, typ string) (json.RawMessage, bool) {
	cd := r.def(name)
	if cd == nil {
		return nil, false
	}
	src := cd.Schema
	switch typ {
	case "consumer":
		src = cd.ConsumerSchema
	case "metadata":
		src = cd.MetadataSchema
	}
	if src == "" {
		return nil, false
	}
	return json.RawMessage(src), true
}

// CheckPlugin implements config.PluginChecker: the conf against the
// plugin's schema for k (and _meta against APISIX's injected schema), then
// the plugin's own checks. Defaults are filled into conf.
func (r *Registry) CheckPlugin(k *config.Kind, name string, conf any) error {
	if k == config.LuaPlugins {
		obj, _ := conf.(map[string]any)
		src, _ := obj["source"].(string)
		if r.lua == nil {
			return fmt.Errorf("this node runs no Lua")
		}
		_, err := lua.LoadModule(name, "lua_plugins/"+name, src)
		return err
	}
	cd := r.def(name)
	if cd == nil {
		return config.UnknownPlugin(name)
	}
	obj, ok := conf.(map[string]any)
	if !ok {
		return ErrBadConf
	}
	consumer := k == config.Consumers || k == config.Credentials
	if k == config.PluginMetadata {
		if cd.metadata == nil {
			return config.UnknownPlugin(name)
		}
		return cd.metadata.Validate(obj)
	}
	sch := cd.schema
	if consumer && cd.Auth {
		sch = cd.consumer
	}
	if meta, ok := obj["_meta"]; ok {
		if err := r.meta.Validate(map[string]any{"_meta": meta}); err != nil {
			return err
		}
		if err := checkMetaFilter(meta); err != nil {
			return err
		}
		if src, ok := meta.(map[string]any)["pre_function"].(string); ok {
			if _, err := lua.CompileFunc(name+" _meta.pre_function", src); err != nil {
				return fmt.Errorf("failed to load _meta.pre_function in plugin %s: %w", name, err)
			}
		}
	}
	if sch != nil {
		rest := obj
		if _, ok := obj["_meta"]; ok {
			rest = make(map[string]any, len(obj))
			for key, v := range obj {
				if key != "_meta" {
					rest[key] = v
				}
			}
		}
		if err := sch.Validate(rest); err != nil {
			if cd.SchemaError != nil && sch == cd.schema { // not an auth plugin's consumer schema
				return cd.SchemaError(rest, err)
			}
			return err
		}
		for key, v := range rest {
			obj[key] = v // defaults the schema filled in
		}
	}
	if cd.Check != nil {
		return cd.Check(obj, consumer && cd.Auth)
	}
	return nil
}

// metaSchema is APISIX's plugin_injected_schema (schema_def.lua).
const metaSchema = `{
  "type": "object",
  "properties": {
    "_meta": {
      "type": "object",
      "properties": {
        "disable": {"type": "boolean"},
        "error_response": {"oneOf": [{"type": "string"}, {"type": "object"}]},
        "priority": {"description": "priority of plugins by customized order", "type": "integer"},
        "filter": {"description": "filter determines whether the plugin needs to be executed at runtime", "type": "array"},
        "pre_function": {"type": "string"}
      },
      "additionalProperties": false
    }
  }
}`

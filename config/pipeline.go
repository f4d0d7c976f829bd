package config

import (
	"errors"
	"slices"
	"strings"
)

// PluginChecker checks plugin confs: the seam through which the plugin
// registry (package plugin, which imports config, so config cannot import
// it) validates each conf against its plugin's schemas. A Pipeline without
// one uses NoPlugins.
type PluginChecker interface {
	// CheckPlugin checks the conf of the plugin called name as it appears
	// in an object of kind k:
	//
	//   - for k == LuaPlugins, conf is the whole lua_plugins/<name> object
	//     (its source): the checker compiles the module and checks it
	//     declares that name;
	//   - for k == PluginMetadata, conf is the whole plugin_metadata/<name>
	//     object, checked against the plugin's metadata schema;
	//   - for k == Consumers or Credentials, conf is an entry of the plugins
	//     field, checked against the plugin's consumer schema (an auth
	//     plugin's conf on a consumer differs from its conf on a route:
	//     APISIX's TYPE_CONSUMER);
	//   - for every other kind, conf is an entry of the plugins field,
	//     checked against the plugin's schema.
	//
	// conf is the decoded JSON value (jsonschema.DecodeJSON's types) as the
	// object carries it, fields APISIX stores encrypted still encrypted, as
	// APISIX checks them; it belongs to this call. The checker may fill in
	// defaults in conf, as validating against a schema does: the Admin API
	// stores the object with them.
	//
	// It returns nil for a good conf; an error matching ErrUnknownPlugin
	// when sluice does not run the plugin; otherwise the failure in the
	// plugin's own words (a schema failure's text, no prefix): the pipeline
	// adds APISIX's context ("failed to check the configuration of plugin
	// <name> err: ..."). It is called from several goroutines at once (a
	// source decodes a large listing in parallel), must be safe for that,
	// and must not block: it runs once per plugin per object decoded.
	CheckPlugin(k *Kind, name string, conf any) error
}

// NoPlugins is the PluginChecker of a build that runs no plugin: every
// name is unknown. It is what a Pipeline without a checker uses, and
// sluice's behaviour until the plugin runtime lands: the Admin API refuses
// every plugin, and the data plane fails closed on objects that name one.
type NoPlugins struct{}

// CheckPlugin implements PluginChecker: every plugin is unknown.
func (NoPlugins) CheckPlugin(*Kind, string, any) error { return ErrUnknownPlugin }

var _ PluginChecker = NoPlugins{}

// Pipeline is the one way an object becomes configuration, whoever brings
// it: the Admin API (Check, a client's write), and the etcd and apisix.yaml
// sources (Load, what a control plane stored). Both run the same steps, in
// APISIX's order, and fail with APISIX's text at the first step that
// refuses the object:
//
//  1. decode: the value must be a JSON object; a missing id is taken from
//     the key;
//  2. schema: the kind's JSON schema, which also fills in defaults;
//  3. normal form: the typed object (hosts lower-cased, methods as a set,
//     CIDRs parsed, vars compiled, upstream nodes listed), with the rules
//     the schema cannot express (only one of host or hosts, a valid vars
//     expression, bracketed IPv6 nodes, ...);
//  4. checks that need more than the object: every plugin conf through
//     Plugins; the secret plugin fields APISIX stores encrypted decrypted
//     with Keyring; an ssl's private keys decrypted and paired with its
//     certificates.
//
// The one difference between Check and Load is what a plugin sluice does
// not run does to the object (see Load). A Pipeline is read-only after
// construction and safe from any goroutine; the zero value (and nil) is a
// pipeline with no keyring and no plugins.
type Pipeline struct {
	// Keyring decrypts the fields APISIX stores encrypted (ssl private
	// keys, key-auth key, ...). Nil reads them as stored. The Admin API
	// also encrypts ssl keys with it before storing them.
	Keyring *Keyring
	// Plugins checks plugin confs. Nil means NoPlugins.
	Plugins PluginChecker
}

// Check runs the pipeline on an object a client writes (the Admin API),
// with id the object's id (a credential's is "<username>/<id>"). It returns
// the object in its runtime form and the JSON value to store, defaults
// filled in. A plugin the checker does not know refuses the object:
// "unknown plugin [x]" ("invalid plugins configuration: unknown plugin
// [x]" on a consumer or credential, "invalid plugin name" for plugin
// metadata), as APISIX's Admin API answers.
func (p *Pipeline) Check(k *Kind, id string, raw []byte) (Object, map[string]any, error) {
	return p.run(k, id, raw, false, nil)
}

// Load runs the pipeline on an object read from where configuration is
// stored (etcd, apisix.yaml), with id taken from its key (a credential's is
// "<username>/<id>"). It refuses what Check refuses except one thing: a
// plugin sluice does not run. Such an object was written by a control
// plane that runs the plugin (an APISIX); refusing it would keep its last
// good version serving without the plugin, and a dropped key-auth is an
// open door. So it is admitted, and the snapshot fails closed instead: a
// route using it answers 503, with UnknownPlugin's error saying why.
func (p *Pipeline) Load(k *Kind, id string, raw []byte) (Object, error) {
	if k == Routes {
		r := &Route{}
		if err := p.LoadRoute(id, raw, r); err != nil {
			return nil, err
		}
		return r, nil
	}
	obj, _, err := p.run(k, id, raw, true, nil)
	return obj, err
}

// LoadRoute is Load for a route, decoded into r rather than a new Route.
// It overwrites all of r, whatever the outcome, and what r holds after it
// returns shares nothing with what r held before: a source that turns
// each route into a form of its own at once reuses one Route for a whole
// load instead of allocating a million (issue 13).
func (p *Pipeline) LoadRoute(id string, raw []byte, r *Route) error {
	// A load has no use for the JSON value, so most routes take the fast
	// decoder; one it takes has no plugins and no secrets, so the steps
	// after decoding have nothing to do. Check keeps the general path: the
	// Admin API stores the value it returns.
	if decodeRouteFast(id, raw, r) {
		return nil
	}
	_, _, err := p.run(Routes, id, raw, true, r)
	return err
}

// run is the pipeline; a route goes into into when it is not nil.
func (p *Pipeline) run(k *Kind, id string, raw []byte, admitUnknown bool, into *Route) (Object, map[string]any, error) {
	var kr *Keyring
	var plugins PluginChecker = NoPlugins{}
	if p != nil {
		kr = p.Keyring
		if p.Plugins != nil {
			plugins = p.Plugins
		}
	}
	consumer := ""
	if k == Credentials {
		if user, cred, ok := strings.Cut(id, "/"); ok {
			consumer, id = user, cred
		}
	}
	obj, value, err := k.decodeValue(id, raw, into)
	if err != nil {
		return nil, nil, err
	}
	if err := checkPlugins(plugins, k, id, value, admitUnknown); err != nil {
		return nil, nil, err
	}
	decryptSecrets(obj, kr)
	switch o := obj.(type) {
	case *SSL:
		if _, err := o.Certificates(kr); err != nil {
			return nil, nil, err
		}
	case *Credential:
		o.Consumer = consumer
	}
	return obj, value, nil
}

// checkPlugins runs every plugin conf of value, in name order, through c
// and words a refusal as APISIX does for the kind.
func checkPlugins(c PluginChecker, k *Kind, id string, value map[string]any, admitUnknown bool) error {
	if k == LuaPlugins {
		// The checker compiles the module; without Lua it cannot, and a
		// source must not accept code it would never check.
		if err := c.CheckPlugin(k, id, value); err != nil {
			return invalidf("invalid lua plugin %s: %w", id, err)
		}
		return nil
	}
	if k == PluginMetadata {
		err := c.CheckPlugin(k, id, value)
		switch {
		case err == nil, admitUnknown && errors.Is(err, ErrUnknownPlugin):
			return nil
		case errors.Is(err, ErrUnknownPlugin):
			return invalidf("invalid plugin name")
		}
		return invalidf("invalid configuration: %w", err)
	}
	confs, _ := value["plugins"].(map[string]any)
	names := make([]string, 0, len(confs))
	for name := range confs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		err := c.CheckPlugin(k, name, confs[name])
		switch {
		case err == nil, admitUnknown && errors.Is(err, ErrUnknownPlugin):
			continue
		case errors.Is(err, ErrUnknownPlugin):
			err = UnknownPlugin(name)
		default:
			err = invalidf("failed to check the configuration of plugin %s err: %w", name, err)
		}
		if k == Consumers || k == Credentials {
			return invalidf("invalid plugins configuration: %w", err)
		}
		return err
	}
	return nil
}

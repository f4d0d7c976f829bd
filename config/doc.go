// Package config owns APISIX's configuration objects (route, upstream,
// service, consumer, ssl, ...) as sluice understands them: their JSON form
// as stored in etcd or written in apisix.yaml, their validation, and their
// normalised runtime form (upstream nodes as a list with ports, timeouts as
// durations, methods as an httpmethod.Set, host names lower-cased).
//
// # The validation pipeline
//
// Every object, whoever brings it, goes through one Pipeline: decode, the
// kind's JSON schema, the normal form, then the checks that need more than
// the object (plugin confs, secrets decrypted with the Keyring, an ssl's
// keys paired with its certificates), failing with APISIX's text at the
// first step that refuses it. The Admin API calls Pipeline.Check on a
// client's write; the etcd and apisix.yaml sources call Pipeline.Load on
// what they read, which differs in one respect only: a plugin sluice does
// not run is admitted, and the snapshot fails closed on it, rather than
// keeping the object's previous version serving without the plugin.
//
// A source loads a route of the common shapes (no plugins, inline
// upstream or vars) through a fast decoder (routefast.go) that reads its
// raw JSON straight into a Route, checking what the schema would, and
// leaves every other route, and every doubt, to the steps above.
//
// Plugin confs are checked through the PluginChecker interface: package
// plugin imports config, so its registry plugs in here rather than being
// called from here. Without one (NoPlugins), every plugin is unknown.
//
// # What it refuses to own
//
// Where objects come from (package sync) and how they are served (engine);
// the JSON Schema validator itself (internal/jsonschema: config holds
// APISIX's schemas, not the engine that checks them); the node's own
// config.yaml (package localconf); any plugin's schema (the plugin
// registry, through PluginChecker). It never touches the network.
//
// Decoded objects are immutable from then on and safe to share between
// goroutines and snapshots. A Pipeline is safe from any goroutine.
package config

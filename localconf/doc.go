// Package localconf owns a node's own settings: APISIX's conf/config.yaml as
// sluice reads it (listeners, deployment role and config provider, the etcd
// cluster, the Admin and control API addresses and keys, the
// data-encryption keyring, nginx-style timeouts and sizes, and sluice's own
// sluice.* keys), with APISIX's and nginx's defaults applied once, in Parse.
//
// It refuses to own the objects a node serves (routes, upstreams, ... are
// package config's, and arrive through etcd or apisix.yaml) and what is done
// with the settings (cmd/sluice wires them into the engine, the sources and
// the Admin API). Keys sluice does not know are ignored, so an APISIX
// config.yaml works as is; keys it knows are checked, and a bad one fails
// start-up with an error naming it.
//
// A Config is read once at start-up and not changed afterwards; it is safe
// to read from any goroutine.
package localconf

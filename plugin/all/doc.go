// Package all links every built-in plugin into the binary: importing it
// runs each plugin package's init, which registers the plugin (Caddy's
// modules/standard pattern). cmd/sluice imports it; which plugins run is
// config.yaml's plugins list.
package all

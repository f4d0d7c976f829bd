// Package plugin owns the plugin model: the phases a request passes through
// (APISIX's rewrite, access, before_proxy, header_filter, body_filter, log),
// and the Chain of hooks a route runs in each phase.
//
// A Chain is compiled once per config version into the snapshot and is
// immutable; running it is loop-only for the request's loop. Built-in
// plugins and the registry that compiles plugin confs into chains belong
// here too (the plugin issue); today chains are built directly.
package plugin

// Package plugintest helps plugin packages test their hooks without the
// engine: it builds a request context from a raw request head, compiles a
// conf through the real registry (schema, defaults, Check, New), runs the
// phases, and renders what the engine would send — the upstream request's
// line and edited headers, the response head after header_filter — so a
// test can compare text. It is for tests only; nothing in the gateway
// imports it.
//
// A Ctx it builds is backed by its own reqctx.Loop (loop-only, like any).
package plugintest

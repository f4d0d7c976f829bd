// Package serverless is APISIX's serverless-pre-function (priority 10000)
// and serverless-post-function (-2000): Lua functions from the conf, run in
// the conf's phase (apisix/plugins/serverless/init.lua). Each function is
// compiled once per config version and runs on the event loop's Lua VM, so
// closures keep state per loop per config version (per worker in APISIX).
// Returning (code, body), ngx.exit or core.response.exit ends the request;
// in body_filter the functions see and rewrite ngx.arg[1] in turn.
package serverless

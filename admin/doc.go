// Package admin owns sluice's two HTTP management surfaces: APISIX's Admin
// API v3 (/apisix/admin/..., default 127.0.0.1:9180) and the control API
// (/v1/..., /status, default 127.0.0.1:9090).
//
// The Admin API validates objects with config's validation pipeline
// (Pipeline.Check: the same steps and texts the data plane's sources run on
// what they read) and writes them to etcd; it never touches the running
// snapshot. The etcd watch (package
// sync) brings every write back to the data plane like any other writer's,
// which keeps sluice nodes and APISIX control planes interchangeable on one
// etcd. Every write is one etcd operation (a put, or a transaction that
// also checks the objects it refers to still exist), so nothing is ever
// half-written.
//
// Plugin secrets are handled as APISIX's Admin API handles them
// (secrets.go): the fields each plugin lists in encrypt_fields are
// encrypted with the data-encryption keyring when written and decrypted in
// GET answers and before a PATCH merges; a consumer or credential may not
// reuse another's auth key; a credential holds auth plugins only.
//
// The control API reads the running snapshot: what this node serves, as
// opposed to what etcd holds.
//
// Errors reach clients through one type, APIError, in APISIX's envelope:
// {"error_msg": "..."}.
package admin

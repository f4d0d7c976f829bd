// Package authtest is test support for the auth plugins (key-auth,
// basic-auth, jwt-auth, consumer-restriction): a request context built from
// raw request text, a snapshot index built from consumers and credentials
// written as APISIX's JSON, a chain compiled from a route's plugins, and
// the request head the upstream would receive. Only tests import it; it
// owns nothing the gateway runs.
package authtest

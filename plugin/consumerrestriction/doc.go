// Package consumerrestriction is APISIX's consumer-restriction plugin
// (priority 2400, access phase): it admits or rejects a request by who it
// authenticated as or where it was routed.
//
// It follows apisix/plugins/consumer-restriction.lua and
// t/plugin/consumer-restriction*.t of APISIX 3.18. The conf's type picks
// the value checked: consumer_name (the default), consumer_group_id (the
// consumer's group), service_id or route_id. A request without that value
// (no consumer authenticated it, no service) is answered 401
// {"message":"The request is rejected, please check the <type> for this
// request"}. Otherwise a value in blacklist is rejected; one not in a
// whitelist is rejected; and one the whitelist did not admit is rejected
// when allowed_by_methods has a rule for it (the first rule whose user is
// the value) that does not list the request's method (as rewritten by
// plugins before it). A rejection answers rejected_code (default 403) with
// {"message": rejected_msg}, or {"message":"The <type> is forbidden."}.
//
// It runs in access, after the auth plugins' rewrite, so it sees the
// consumer they attached; on a consumer (merged over the route after
// authentication) it restricts that consumer by service or route.
//
// Nothing is compiled per request; the lists are short and compared in
// order, as APISIX does.
package consumerrestriction

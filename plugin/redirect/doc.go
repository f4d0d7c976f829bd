// Package redirect is APISIX's redirect plugin (priority 900, rewrite
// phase; apisix/plugins/redirect.lua, 3.18): it answers ret_code (302 by
// default) with a Location built from uri (a template: $var, ${var}, "$$"
// for a dollar, "\$var" kept literally) or regex_uri (a pattern and an
// ngx.re.sub replacement applied to $uri; no match lets the request go on),
// optionally percent-encoded (encode_uri) and with the client's query
// appended (append_query_string). http_to_https answers a plain-http request
// (X-Forwarded-Proto, else the connection's scheme) with 301 for GET and
// HEAD and 308 otherwise, to https://$host$request_uri. The body is nginx's
// page for the code, as APISIX sends it.
//
// Templates and regexes are compiled in New; a request only expands them.
//
// Deliberate differences from APISIX:
//   - The https port: APISIX takes plugin_attr.redirect.https_port, else a
//     port of apisix.ssl.listen. sluice has neither (no plugin_attr, no TLS
//     listener yet), so the Location carries no port (https's 443), which
//     is what APISIX does without them.
//   - $request_uri is the request target as received (sluice's variable);
//     APISIX rebuilds it from the decoded $uri.
//   - Control characters in the Location (a decoded %0d%0a reflected from
//     $uri) are percent-encoded rather than sent, so no redirect can split
//     the response head.
package redirect

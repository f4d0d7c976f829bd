// Package realip is APISIX's real-ip plugin (priority 23000, rewrite phase;
// apisix/plugins/real-ip.lua, 3.18): it replaces the client's address with
// one a request carries, for everything after it — $remote_addr and
// $remote_port, later plugins (ip-restriction), the X-Real-IP and
// X-Forwarded-For sent upstream — as APISIX's set_real_ip does.
//
//   - source names the variable the address comes from (arg_realip,
//     http_x_real_ip, ...). http_x_forwarded_for is read as APISIX reads it:
//     the last X-Forwarded-For field, and in it the last address; with
//     recursive and trusted_addresses, the last address that is not
//     trusted (the first one when all are).
//   - trusted_addresses: only a client (as the address stands when the
//     plugin runs) in the list may set its address; the list is compiled
//     once (internal/ipset).
//   - The value is parsed as APISIX's core.utils.parse_addr parses it:
//     "1.1.1.1", "1.1.1.1:80", "::2", "[::2]", "[::2]:80". A port, when
//     present, replaces $remote_port; a value that is not an IP address,
//     or whose port is out of 1-65535, changes nothing (APISIX logs it).
//
// The new address lasts for the request (reqctx.Ctx.SetRealRemote): the
// next request on the same connection starts from the connection's own.
//
// Deliberate differences from APISIX:
//   - Without APISIX-Runtime APISIX answers 501; sluice always can.
//   - $realip_remote_addr (nginx's address before the change) is not a
//     variable sluice has.
//   - A port is read with Lua's tonumber rules for decimal and hex
//     integers and decimals; a port Lua would read as a fraction is
//     truncated.
package realip

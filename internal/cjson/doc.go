// Package cjson writes the JSON that lua-cjson (APISIX's core.json, and so
// core.response.exit) writes, byte for byte, for the bodies plugins answer
// with: a string escapes '"', '\\' and '/' with a backslash, \b \f \n \r
// \t by name, other control characters and DEL as \u00XX, and copies every
// other byte (UTF-8, '<', '>', '&') as it is. encoding/json differs on
// each of '/', '<', '>', '&' and DEL, which clients would see.
//
// It refuses to own general JSON encoding (nginx's escape=json in the
// access log differs again and stays in accesslog). Functions are pure;
// safe from any goroutine.
package cjson

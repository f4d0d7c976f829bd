package ratelimit

import "github.com/sluicegw/sluice/internal/cjson"

// RejectBody returns the body APISIX's limit plugins answer a rejected
// request with when rejected_msg is set: core.response.exit(code,
// {error_msg = msg}). It returns nil for an empty msg: the gateway's error
// page for the code is sent then.
func RejectBody(msg string) []byte {
	if msg == "" {
		return nil
	}
	return cjson.Exit("error_msg", msg)
}

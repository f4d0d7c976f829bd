package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sluicegw/sluice/internal/bytestr"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// The request headers APISIX's consumer.attach_consumer sets for the
// upstream once a request is authenticated.
const (
	HeaderConsumerUsername = "X-Consumer-Username"
	HeaderCredentialID     = "X-Credential-Identifier"
	HeaderConsumerCustomID = "X-Consumer-Custom-ID"
)

// AttachConsumer records that the request authenticated with cred, as
// APISIX's consumer.attach_consumer does: the request's consumer (and so
// consumer_name, consumer_group_id and the consumer's plugins) and the
// upstream request headers X-Consumer-Username, X-Credential-Identifier
// (the credential object's id) and X-Consumer-Custom-ID (labels.custom_id).
// A header with no value is removed rather than left out, as APISIX's
// set_header(nil) does, so a client cannot pass off its own as the
// gateway's. Loop-only; allocates nothing.
func AttachConsumer(c *reqctx.Ctx, cred *reqctx.Credential) {
	c.SetConsumer(cred)
	setConsumerHeaders(c, cred.Consumer.Name, cred.ID, cred.Consumer.CustomID)
}

// AttachAnonymous makes an auth plugin's anonymous_consumer the request's
// consumer after authentication failed. It reports false, changing
// nothing, when the snapshot has no consumer of that name: the plugin then
// answers 401 {"message":"Invalid user authorization"} (Unauthenticated;
// APISIX logs "failed to get anonymous consumer <name>").
//
// APISIX hands the anonymous consumer over as stored, without the
// custom_id it derives from labels for credentials
// (consumer.get_anonymous_consumer), so X-Consumer-Custom-ID is removed
// here, as X-Credential-Identifier is.
func AttachAnonymous(c *reqctx.Ctx, name string) bool {
	if c.Config == nil {
		return false
	}
	cons := c.Config.Consumer(name)
	if cons == nil {
		return false
	}
	c.Consumer, c.Credential = cons, nil
	setConsumerHeaders(c, cons.Name, "", "")
	return true
}

func setConsumerHeaders(c *reqctx.Ctx, name, credID, customID string) {
	c.SetHeader(HeaderConsumerUsername, bytestr.Bytes(name))
	if credID != "" {
		c.SetHeader(HeaderCredentialID, bytestr.Bytes(credID))
	} else {
		c.DelHeader(HeaderCredentialID)
	}
	if customID != "" {
		c.SetHeader(HeaderConsumerCustomID, bytestr.Bytes(customID))
	} else {
		c.DelHeader(HeaderConsumerCustomID)
	}
}

// FindCredential looks key up among the credentials the named auth
// plugin indexed in the request's snapshot; nil when there is none.
func FindCredential(c *reqctx.Ctx, plugin string, key []byte) *reqctx.Credential {
	if c.Config == nil {
		return nil
	}
	return c.Config.Credential(plugin, key)
}

// Errors of secret references.
var (
	// ErrSecretUnresolved: a $env:// reference names an unset variable
	// (or a sub-key its JSON value lacks).
	ErrSecretUnresolved = errors.New("plugin: secret reference cannot be resolved")
	// ErrSecretManager: a $secret:// reference; sluice has no secret
	// managers (Vault, AWS, GCP) yet.
	ErrSecretManager = errors.New("plugin: secret managers ($secret://) are not supported")
)

// ResolveSecret returns the value of an APISIX secret reference, or v
// itself when it is not one. "$env://NAME" (prefix case-insensitive) is
// the process's environment variable NAME; "$env://NAME/sub" is the field
// sub of NAME's value read as a JSON object (apisix/core/env.lua). A
// reference that does not resolve is an error: an auth plugin must fail
// closed rather than accept the reference's text as a key, as APISIX 3.18
// skips such a consumer. Called when confs compile, never per request.
func ResolveSecret(v string) (string, error) {
	if !strings.HasPrefix(v, "$") {
		return v, nil
	}
	const envPrefix = "$ENV://"
	switch {
	case strings.HasPrefix(v, "$secret://"):
		return "", fmt.Errorf("%w: %s", ErrSecretManager, v)
	case len(v) >= len(envPrefix) && strings.EqualFold(v[:len(envPrefix)], envPrefix):
	default:
		return v, nil
	}
	name, sub, hasSub := strings.Cut(v[len(envPrefix):], "/")
	val, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrSecretUnresolved, v)
	}
	if !hasSub || sub == "" {
		return val, nil
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(val), &obj); err != nil {
		return "", fmt.Errorf("%w: %s: decoding the variable: %w", ErrSecretUnresolved, v, err)
	}
	s, ok := obj[sub].(string)
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrSecretUnresolved, v)
	}
	return s, nil
}

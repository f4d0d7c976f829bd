package reqctx

// Consumer is an authenticated API client: an APISIX consumer, compiled
// into a snapshot. Immutable.
type Consumer struct {
	// Name is the consumer's username.
	Name string
	// GroupID is its consumer group, if any.
	GroupID string
	// CustomID is labels.custom_id, sent upstream as X-Consumer-Custom-ID.
	CustomID string
	// Plugins is the consumer's own plugins merged over its group's,
	// compiled by the plugin package (which merges them over the route's
	// at run time); nil when it has none besides its credentials.
	Plugins any
}

// Credential is one way a consumer authenticates with one auth plugin: a
// consumer's own plugin conf or a credential object. Immutable.
type Credential struct {
	// ID is the credential's id ("" for a conf on the consumer itself);
	// sent upstream as X-Credential-Identifier.
	ID       string
	Consumer *Consumer
	// Conf is the auth plugin's compiled consumer-side conf.
	Conf any
}

// Config is what the snapshot a request was routed on offers plugins at run
// time. The plugin package implements it; the engine sets it per request.
type Config interface {
	// Credential finds the credential the named auth plugin indexed under
	// key (key-auth's key, basic-auth's username, jwt-auth's key), or nil.
	Credential(plugin string, key []byte) *Credential
	// Consumer finds a consumer by name (anonymous_consumer), or nil.
	Consumer(name string) *Consumer
	// Metadata returns the named plugin's compiled plugin_metadata, or nil.
	Metadata(plugin string) any
}

package plugin

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// Index is a snapshot's run-time plugin data: consumers, the credentials
// auth plugins look them up by, and compiled plugin metadata. It implements
// reqctx.Config. Immutable; safe from any goroutine.
type Index struct {
	creds     map[string]map[string]*reqctx.Credential // plugin → key → credential
	consumers map[string]*reqctx.Consumer
	metadata  map[string]any
}

var _ reqctx.Config = (*Index)(nil)

// Credential implements reqctx.Config.
func (x *Index) Credential(plugin string, key []byte) *reqctx.Credential {
	if x == nil {
		return nil
	}
	return x.creds[plugin][string(key)]
}

// Consumer implements reqctx.Config.
func (x *Index) Consumer(name string) *reqctx.Consumer {
	if x == nil {
		return nil
	}
	return x.consumers[name]
}

// Metadata implements reqctx.Config.
func (x *Index) Metadata(plugin string) any {
	if x == nil {
		return nil
	}
	return x.metadata[plugin]
}

// ConsumerPlugins is a consumer's compiled non-auth plugins, its own over
// its group's: what reqctx.Consumer.Plugins holds.
type ConsumerPlugins struct {
	entries []*Entry
}

// IndexInput is the configuration an Index is built from.
type IndexInput struct {
	Consumers   []*config.Consumer
	Credentials []*config.Credential
	Groups      map[string]*config.PluginSet // consumer groups by id
	Metadata    []*config.Metadata
	Env         *Env // logger, upstreams
}

// BuildIndex compiles consumers, credentials and plugin metadata. A
// consumer or credential that fails to compile is left out (its requests
// fail authentication) and reported; so is a duplicate key, the first
// (by consumer name, then credential id) keeping it.
func (r *Registry) BuildIndex(in IndexInput) (*Index, []error) {
	x := &Index{
		creds:     map[string]map[string]*reqctx.Credential{},
		consumers: map[string]*reqctx.Consumer{},
		metadata:  map[string]any{},
	}
	var problems []error
	slices.SortFunc(in.Consumers, func(a, b *config.Consumer) int { return compareNames(a.Username, b.Username) })
	for _, c := range in.Consumers {
		cons := &reqctx.Consumer{Name: c.Username, GroupID: c.GroupID.S, CustomID: c.Labels["custom_id"]}
		confs := map[string]json.RawMessage{}
		if g := in.Groups[c.GroupID.S]; g != nil {
			maps.Copy(confs, g.Plugins)
		} else if !c.GroupID.IsZero() {
			problems = append(problems, fmt.Errorf("consumer %s: consumer group %s not found", c.Username, c.GroupID.S))
			continue
		}
		maps.Copy(confs, c.Plugins)
		var entries []*Entry
		for _, name := range slices.Sorted(maps.Keys(confs)) {
			cd := r.def(name)
			if cd == nil {
				continue
			}
			if cd.Auth {
				if _, own := c.Plugins[name]; own {
					problems = append(problems, r.index(x, cd, cons, "", confs[name])...)
				}
				continue
			}
			env := &Env{Owner: "/apisix/consumers/" + c.Username}
			if _, own := c.Plugins[name]; !own {
				env.Owners = map[string]string{name: "/apisix/consumer_groups/" + c.GroupID.S}
			}
			if in.Env != nil {
				env.Logger, env.Upstreams = in.Env.Logger, in.Env.Upstreams
			}
			e, err := r.compileEntry(env, cd, confs[name], false)
			if err != nil {
				problems = append(problems, fmt.Errorf("consumer %s: %w", c.Username, err))
				continue
			}
			if e != nil {
				entries = append(entries, e)
			}
		}
		if len(entries) > 0 {
			cons.Plugins = &ConsumerPlugins{entries: entries}
		}
		x.consumers[c.Username] = cons
	}
	slices.SortFunc(in.Credentials, func(a, b *config.Credential) int {
		if a.Consumer != b.Consumer {
			return compareNames(a.Consumer, b.Consumer)
		}
		return compareNames(a.ID.S, b.ID.S)
	})
	for _, cr := range in.Credentials {
		cons := x.consumers[cr.Consumer]
		if cons == nil {
			continue // its consumer is gone or broken
		}
		for name, raw := range cr.Plugins {
			if cd := r.def(name); cd != nil && cd.Auth {
				problems = append(problems, r.index(x, cd, cons, cr.ID.S, raw)...)
			}
		}
	}
	for _, m := range in.Metadata {
		cd := r.def(m.Plugin)
		if cd == nil || cd.NewMetadata == nil {
			continue
		}
		conf, err := withDefaults(cd.metadata, m.Value)
		if err == nil {
			var v any
			if v, err = cd.NewMetadata(conf); err == nil {
				x.metadata[m.Plugin] = v
				continue
			}
		}
		problems = append(problems, fmt.Errorf("plugin_metadata %s: %w", m.Plugin, err))
	}
	return x, problems
}

// index compiles one auth conf of a consumer (credID "" for the consumer's
// own) and files it under its key.
func (r *Registry) index(x *Index, cd *compiledDef, cons *reqctx.Consumer, credID string, raw json.RawMessage) []error {
	if cd.NewConsumer == nil {
		return nil
	}
	_, rest, err := parseMeta(raw)
	if err == nil {
		var conf []byte
		if conf, err = withDefaults(cd.consumer, rest); err == nil {
			var key string
			var compiled any
			if key, compiled, err = cd.NewConsumer(conf); err == nil {
				byKey := x.creds[cd.Name]
				if byKey == nil {
					byKey = map[string]*reqctx.Credential{}
					x.creds[cd.Name] = byKey
				}
				if prev := byKey[key]; prev != nil {
					return []error{fmt.Errorf("duplicate key of plugin %s found with consumer: %s (kept for consumer %s)",
						cd.Name, cons.Name, prev.Consumer.Name)}
				}
				byKey[key] = &reqctx.Credential{ID: credID, Consumer: cons, Conf: compiled}
				return nil
			}
		}
	}
	where := "consumer " + cons.Name
	if credID != "" {
		where += " credential " + credID
	}
	return []error{fmt.Errorf("%s: plugin %s: %w", where, cd.Name, err)}
}

// GlobalChain compiles the global rules into one chain. As APISIX 3.18
// does, a plugin configured in more than one global rule is dropped (and
// reported).
func (r *Registry) GlobalChain(env *Env, rules map[string]*config.PluginSet) (*Chain, []error) {
	confs := map[string]json.RawMessage{}
	seen := map[string]string{}
	dup := map[string]bool{}
	var problems []error
	for _, id := range slices.Sorted(maps.Keys(rules)) {
		for name, raw := range rules[id].Plugins {
			if first, ok := seen[name]; ok {
				if !dup[name] {
					problems = append(problems, fmt.Errorf("global rules %s and %s both configure plugin %s; it runs in neither", first, id, name))
				}
				dup[name] = true
				continue
			}
			seen[name] = id
			confs[name] = raw
		}
	}
	for name := range dup {
		delete(confs, name)
	}
	ch, err := r.Compile(env, confs)
	if err != nil {
		problems = append(problems, err)
	}
	return ch, problems
}

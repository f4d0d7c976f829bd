package plugin

import (
	"github.com/sluicegw/sluice/internal/reqctx"
)

// mergeKey identifies a merged chain: a route's chain and a consumer, both
// immutable objects of one snapshot.
type mergeKey struct {
	route    *Chain
	consumer *reqctx.Consumer
}

// maxMerged bounds a loop's cache of merged chains; past it the cache
// starts over (a snapshot swap makes every entry stale anyway).
const maxMerged = 4096

var mergedKey = reqctx.NewLocalKey(func() any { return map[mergeKey]*Chain{} })

// MergeConsumer returns route's chain with the consumer's plugins merged
// over it (consumer, then consumer group, over route: APISIX's
// merge_consumer_route); the plugins it adds are marked to run their
// rewrite hook (RunConsumerRewrite). It returns route itself when the
// consumer brings no plugins. The merge is cached per loop, so it is built
// once per (route chain, consumer) per loop, not per request.
func MergeConsumer(l *reqctx.Loop, route *Chain, cons *reqctx.Consumer) *Chain {
	cp, _ := cons.Plugins.(*ConsumerPlugins)
	if cp == nil || len(cp.entries) == 0 {
		return route
	}
	cache := l.Local(mergedKey).(map[mergeKey]*Chain)
	k := mergeKey{route, cons}
	if ch, ok := cache[k]; ok {
		return ch
	}
	if len(cache) >= maxMerged {
		clear(cache)
	}
	var entries []*Entry
	if route != nil {
		entries = make([]*Entry, 0, len(route.entries)+len(cp.entries))
	}
outer:
	for _, e := range routeEntries(route) {
		for _, ce := range cp.entries {
			if ce.Name == e.Name {
				continue outer // the consumer's conf wins
			}
		}
		entries = append(entries, e)
	}
	for _, ce := range cp.entries {
		e := *ce
		e.fromConsumer = !route.has(ce.Name)
		entries = append(entries, &e)
	}
	ch := newChain(entries)
	cache[k] = ch
	return ch
}

func routeEntries(ch *Chain) []*Entry {
	if ch == nil {
		return nil
	}
	return ch.entries
}

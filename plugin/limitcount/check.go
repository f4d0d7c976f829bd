package limitcount

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	stdsync "sync"
	"time"

	"github.com/sluicegw/sluice/internal/ratelimit"
)

// Errors of the conf checks beyond the schema, with APISIX's texts.
var (
	errCountAndRules = errors.New("count/time_window and rules cannot be specified at the same time")
	errGroupRules    = errors.New("group and rules cannot be specified at the same time")
	errGroupMismatch = errors.New("group conf mismatched")
	errSyncTooSmall  = errors.New("sync_interval should not be smaller than 0.1")
	errSyncTooLarge  = errors.New("sync_interval should be smaller than time_window")
)

// noDelayedSync is sync_interval's default: sync on every request.
const noDelayedSync = -1

// schemaError rewords the schema's failure as APISIX's check_schema does:
// a conf with both count/time_window and rules matches both branches of
// the schema's oneOf.
func schemaError(conf map[string]any, err error) error {
	_, count := conf["count"]
	_, tw := conf["time_window"]
	_, rules := conf["rules"]
	if strings.Contains(err.Error(), "value should match only one schema") && (count || tw) && rules {
		return errCountAndRules
	}
	return err
}

// check is limit-count's check_schema after the schema passed.
func check(conf map[string]any, _ bool) error {
	return checkWith(&groups, conf)
}

func checkWith(g *groupRefs, conf map[string]any) error {
	_, count := conf["count"]
	_, tw := conf["time_window"]
	rules, hasRules := conf["rules"].([]any)
	if hasRules && (count || tw) {
		return errCountAndRules
	}
	group, _ := conf["group"].(string)
	if _, ok := conf["group"]; ok && hasRules {
		return errGroupRules
	}
	if _, ok := conf["group"]; ok {
		if err := g.check(group, conf); err != nil {
			return err
		}
	}
	policy, _ := conf["policy"].(string)
	if p, _ := ratelimit.ParsePolicy(policy); p != ratelimit.PolicyLocal {
		if si, ok := conf["sync_interval"].(float64); ok && si != noDelayedSync {
			if si < 0.1 {
				return errSyncTooSmall
			}
			if w, ok := conf["time_window"].(float64); ok && si >= w {
				return errSyncTooLarge
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range rules {
		rule, _ := r.(map[string]any)
		key, _ := rule["key"].(string)
		if seen[key] {
			return fmt.Errorf("duplicate key '%s' in rules", key)
		}
		seen[key] = true
	}
	return nil
}

// groupRefs is APISIX's group_conf_lru: the first conf checked for each
// group, which every later conf of the group must equal field by field
// (the schema's properties and the policy's Redis fields). As in APISIX it
// is a per-process LRU cache of 8 groups, each remembered for 5 minutes, so
// the rule holds among confs written close together; it is state of the
// checking process, not of the configuration.
type groupRefs struct {
	mu   stdsync.Mutex // guards refs
	now  func() time.Time
	refs []groupRef // most recently used first
}

type groupRef struct {
	group string
	conf  map[string]any
	at    time.Time
}

const (
	groupRefsMax = 8               // APISIX's PLUGIN_ITEMS_COUNT
	groupRefsTTL = 5 * time.Minute // APISIX's PLUGIN_TTL
)

// groups is the process's group_conf_lru.
var groups = groupRefs{now: time.Now}

func (g *groupRefs) check(group string, conf map[string]any) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	var prev map[string]any
	for i, r := range g.refs {
		if r.group != group {
			continue
		}
		g.refs = append(g.refs[:i], g.refs[i+1:]...)
		if now.Sub(r.at) < groupRefsTTL {
			prev = r.conf
			g.refs = append([]groupRef{r}, g.refs...)
		}
		break
	}
	if prev == nil {
		ref := groupRef{group: group, conf: copyFields(conf), at: now}
		g.refs = append([]groupRef{ref}, g.refs...)
		if len(g.refs) > groupRefsMax {
			g.refs = g.refs[:groupRefsMax]
		}
		return nil
	}
	for _, f := range groupFields(conf) {
		if !reflect.DeepEqual(prev[f], conf[f]) {
			return errGroupMismatch
		}
	}
	return nil
}

// groupFields are the fields a group's confs must agree on.
func groupFields(conf map[string]any) []string {
	fields := schemaFields
	policy, _ := conf["policy"].(string)
	if p, err := ratelimit.ParsePolicy(policy); err == nil {
		fields = append(fields[:len(fields):len(fields)], ratelimit.RedisFields(p)...)
	}
	return fields
}

// copyFields keeps a deep copy of conf (it belongs to the caller, who may
// change it later).
func copyFields(conf map[string]any) map[string]any {
	out := make(map[string]any, len(conf))
	for k, v := range conf {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return copyFields(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopy(e)
		}
		return out
	}
	return v
}

package reqctx

import (
	"sync/atomic"

	"github.com/sluicegw/sluice/expr"
)

// Loop is one event loop's storage for plugins: per-loop caches, free lists
// and counters that need no lock because only that loop touches them. The
// engine creates one per loop; every Ctx on the loop points at it.
type Loop struct {
	// ID numbers the loop, 0 <= ID < the engine's loop count.
	ID int
	// Locals holds the per-loop values of LocalKeys, by key index. Grown
	// on first use.
	locals []any
	// vars caches variable names parsed for VarNamed.
	vars map[string]*expr.Var
}

// maxCachedVars bounds a loop's cache of parsed variable names (names come
// from code, so the set is small unless code builds names dynamically).
const maxCachedVars = 4096

// parsedVar returns name parsed, cached.
func (l *Loop) parsedVar(name string) *expr.Var {
	if v, ok := l.vars[name]; ok {
		return v
	}
	if l.vars == nil || len(l.vars) >= maxCachedVars {
		l.vars = map[string]*expr.Var{}
	}
	v := expr.ParseVar(name)
	l.vars[name] = &v
	return &v
}

// LocalKey names a per-loop value a plugin keeps (a free list of gzip
// writers, a merged-chain cache). Declare one per use at package level with
// NewLocalKey; New makes a loop's value the first time that loop asks.
type LocalKey struct {
	index int
	new   func() any
}

var localKeys atomic.Int32

// NewLocalKey registers a per-loop value made by newValue. Call it from a
// package-level var declaration (the set of keys is fixed at start-up).
func NewLocalKey(newValue func() any) *LocalKey {
	return &LocalKey{index: int(localKeys.Add(1) - 1), new: newValue}
}

// Local returns the loop's value for k, making it on first use. Loop-only.
func (l *Loop) Local(k *LocalKey) any {
	if k.index >= len(l.locals) {
		grown := make([]any, k.index+1)
		copy(grown, l.locals)
		l.locals = grown
	}
	v := l.locals[k.index]
	if v == nil {
		v = k.new()
		l.locals[k.index] = v
	}
	return v
}

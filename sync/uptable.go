package sync

import "github.com/sluicegw/sluice/config"

// upTable is where a route finds the upstream it names by id (its
// upstream_id, or its service's): one slot per upstream id, stable while
// the id exists, in an array each snapshot holds. A compiled route keeps
// the slot, not the upstream (Snapshot.UpstreamOf reads it), so a change
// to an upstream's nodes or settings replaces one element of the array
// instead of compiling again every route that refers to it: with 1M routes
// on one upstream that was seconds and a gigabyte of garbage per node
// change (issue 13). Routes are compiled again only when the upstream is
// created or deleted (they stop or start answering 502) and when a plugin
// refers to it (traffic-split compiles the upstream into its conf).
//
// The array is copied on the first write after a snapshot took it, so a
// published snapshot's array is never written; a freed slot is reused only
// after the next snapshot, by when no route of the builder refers to it.
// Builder goroutine only.
type upTable struct {
	slots map[string]uint32 // upstream id → slot
	ups   []*Upstream       // by slot; nil: free
	free  []uint32          // slots to reuse
	freed []uint32          // slots freed since the last snapshot
	owned bool              // ups is not shared with a snapshot
}

// upstreamRef is the dependency kind of a route that names an upstream by
// id through the table: a change of that upstream recompiles it only when
// the upstream appears or disappears (Builder.store). A dependency of kind
// config.Upstreams (a plugin's reference) recompiles it on every change.
var upstreamRef = &config.Kind{Name: "upstream_id", Noun: "upstream reference"}

// slotOf returns the slot of upstream id, and whether it has one.
func (t *upTable) slotOf(id string) (uint32, bool) {
	s, ok := t.slots[id]
	return s, ok
}

// set makes u the upstream of id; nil deletes it.
func (t *upTable) set(id string, u *Upstream) {
	s, ok := t.slots[id]
	switch {
	case !ok && u == nil:
		return
	case !ok:
		if n := len(t.free); n > 0 {
			s, t.free = t.free[n-1], t.free[:n-1]
		} else {
			s = uint32(len(t.ups))
			t.own()
			t.ups = append(t.ups, nil)
		}
		if t.slots == nil {
			t.slots = map[string]uint32{}
		}
		t.slots[id] = s
	case u == nil:
		delete(t.slots, id)
		t.freed = append(t.freed, s)
	}
	t.own()
	t.ups[s] = u
}

// own makes ups writable: copied once after a snapshot took it.
func (t *upTable) own() {
	if !t.owned {
		t.ups = append(make([]*Upstream, 0, len(t.ups)+1), t.ups...)
		t.owned = true
	}
}

// publish returns the array for a snapshot; later writes copy it.
func (t *upTable) publish() []*Upstream {
	t.owned = false
	t.free = append(t.free, t.freed...)
	t.freed = t.freed[:0]
	return t.ups
}

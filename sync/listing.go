package sync

import (
	"slices"
	"strings"

	"github.com/benbjohnson/immutable"
)

// listing is what a snapshot lists of one kind of stored object for the
// control API (Snapshot.Items, Snapshot.Item): every id with its Item, in
// id order. It is a value, immutable once made: apply returns a new one
// and old snapshots keep reading theirs.
//
// It is a sorted array, base, plus an overlay of what changed since base
// was made, merged into a new base once it holds more than
// 1/rebuildFraction of base's length, so a change costs O(log overlay)
// plus an amortised O(1) share of the next merge. Until then base keeps
// alive the items the overlay replaced or deleted: at most that fraction
// of them.
//
// A first load's changes, in etcd key order (which is id order within a
// kind), become base as they are: a persistent sorted map set one id at a
// time was a second of a 1M-route load, and looking each item up again in
// the stored objects another half (issue 13).
type listing struct {
	base []listed // sorted by id, unique ids, no nil items; never written
	// over holds the ids written or deleted since base was made; a nil
	// Item is a deletion. Nil when empty.
	over *immutable.SortedMap[string, *Item]
}

// listed is one id and its item; in a batch of changes, a nil item is a
// deletion.
type listed struct {
	id   string
	item *Item
}

// get returns the item listed under id, or nil.
func (l listing) get(id string) *Item {
	if l.over != nil {
		if it, ok := l.over.Get(id); ok {
			return it
		}
	}
	if i, ok := slices.BinarySearchFunc(l.base, id, func(e listed, id string) int { return strings.Compare(e.id, id) }); ok {
		return l.base[i].item
	}
	return nil
}

// items returns every listed item, sorted by id.
func (l listing) items() []*Item {
	if l.over == nil {
		out := make([]*Item, len(l.base))
		for i, e := range l.base {
			out[i] = e.item
		}
		return out
	}
	out := make([]*Item, 0, len(l.base)+l.over.Len())
	for _, e := range merge(l.base, l.overlay(), false) {
		out = append(out, e.item)
	}
	return out
}

// overlay returns over as a sorted batch of changes.
func (l listing) overlay() []listed {
	if l.over == nil {
		return nil
	}
	out := make([]listed, 0, l.over.Len())
	for it := l.over.Iterator(); !it.Done(); {
		id, item, _ := it.Next()
		out = append(out, listed{id, item})
	}
	return out
}

// apply returns l with changes made: each id in changes listed with its
// item, or deleted when it is nil. changes must be sorted by id with each
// id once (see sortedChanges); apply takes ownership of it, which may
// become the new base as it is.
func (l listing) apply(changes []listed) listing {
	if len(changes) == 0 {
		return l
	}
	pending := len(changes)
	if l.over != nil {
		pending += l.over.Len()
	}
	if pending <= len(l.base)/rebuildFraction {
		over := l.over
		if over == nil {
			over = immutable.NewSortedMap[string, *Item](nil)
		}
		for _, c := range changes {
			over = over.Set(c.id, c.item)
		}
		return listing{base: l.base, over: over}
	}
	if l.over != nil {
		// Both are small next to base: what they change, together.
		changes = merge(l.overlay(), changes, true)
	}
	return listing{base: merge(l.base, changes, false)}
}

// merge returns older with newer made over it, both sorted by id with
// each id once: newer's entry wins for an id both list, and a nil item
// (a deletion) removes the id. With keepDeletions (merging two batches of
// changes) the deletion itself is kept. When older is empty and nothing is
// dropped it returns newer itself.
func merge(older, newer []listed, keepDeletions bool) []listed {
	if len(older) == 0 && (keepDeletions || !slices.ContainsFunc(newer, func(c listed) bool { return c.item == nil })) {
		return newer
	}
	out := make([]listed, 0, len(older)+len(newer))
	i := 0
	for _, c := range newer {
		for i < len(older) && older[i].id < c.id {
			out = append(out, older[i])
			i++
		}
		if i < len(older) && older[i].id == c.id {
			i++
		}
		if c.item != nil || keepDeletions {
			out = append(out, c)
		}
	}
	return append(out, older[i:]...)
}

// sortedChanges sorts by id a batch of changes given in the order they
// were made, keeping the last change of each id, and returns it. A batch already
// strictly in id order (etcd lists keys in order) is returned as it is.
func sortedChanges(changes []listed) []listed {
	if inIDOrder(changes) {
		return changes
	}
	slices.SortStableFunc(changes, func(x, y listed) int { return strings.Compare(x.id, y.id) })
	out := changes[:0]
	for i, c := range changes {
		if i+1 < len(changes) && changes[i+1].id == c.id {
			continue // a later change of the same id wins
		}
		out = append(out, c)
	}
	return out
}

// inIDOrder reports whether changes are strictly in id order: sorted, each
// id once.
func inIDOrder(changes []listed) bool {
	for i := 1; i < len(changes); i++ {
		if changes[i-1].id >= changes[i].id {
			return false
		}
	}
	return true
}

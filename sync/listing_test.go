package sync

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/trie"
)

// checkListing fails unless l lists exactly want (by id), in id order.
func checkListing(t *testing.T, what string, l listing, want map[string]*Item, ids []string) {
	t.Helper()
	var sorted []*Item
	for _, id := range slices.Sorted(maps.Keys(want)) {
		sorted = append(sorted, want[id])
	}
	if got := l.items(); !slices.Equal(got, sorted) {
		t.Fatalf("%s: items lists %d, want %d: %s, want %s", what, len(got), len(sorted), keysOf(got), keysOf(sorted))
	}
	for _, id := range ids {
		if got := l.get(id); got != want[id] {
			t.Fatalf("%s: get(%q) = %v, want %v", what, id, got, want[id])
		}
	}
}

func keysOf(items []*Item) []string {
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Key)
	}
	return keys
}

// TestListingMatchesSortedMap applies random batches of changes (writes,
// deletions, re-creations, the same id several times in a batch, batches
// small enough for the overlay and large enough to merge, deleting
// everything) and checks
// every listing against a plain map, and at the end that every listing
// made on the way still lists what it did.
func TestListingMatchesSortedMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	const space = 500
	ids := make([]string, space)
	for i := range ids {
		ids[i] = fmt.Sprint(i) // "10" sorts before "2"
	}
	var l listing
	model := map[string]*Item{}
	type version struct {
		l    listing
		want map[string]*Item
	}
	var history []version
	merges := 0
	for step := range 2000 {
		var batch []listed
		switch {
		case step == 0:
			// A first load: ids in order, no deletion.
			for _, id := range slices.Sorted(slices.Values(ids[:300])) {
				batch = append(batch, listed{id, &Item{Key: id, ModRev: 1}})
			}
		case rng.IntN(100) == 0:
			// Everything deleted: the next batch meets an empty base.
			for _, id := range ids {
				batch = append(batch, listed{id: id})
			}
		case rng.IntN(50) == 0:
			batch = make([]listed, rng.IntN(2*space))
		default:
			batch = make([]listed, 1+rng.IntN(3))
		}
		for i := range batch {
			if step == 0 || batch[i].id != "" {
				break
			}
			id := ids[rng.IntN(space)]
			var it *Item
			if rng.IntN(3) != 0 {
				it = &Item{Key: id, ModRev: int64(step)}
			}
			batch[i] = listed{id, it}
		}
		for _, c := range batch {
			if c.item == nil {
				delete(model, c.id)
			} else {
				model[c.id] = c.item
			}
		}
		before := len(l.base)
		first := slices.Clone(batch)
		l = l.apply(sortedChanges(batch))
		if step == 0 && (len(l.base) != len(first) || &l.base[0] != &batch[0]) {
			t.Fatal("a first load's sorted changes are not the listing as they are")
		}
		if step > 0 && len(l.base) != before {
			merges++
		}
		checkListing(t, fmt.Sprint("step ", step), l, model, ids)
		history = append(history, version{l, maps.Clone(model)})
	}
	if merges < 10 {
		t.Fatalf("only %d merges into base: the test does not exercise them", merges)
	}
	for i, v := range history {
		checkListing(t, fmt.Sprint("kept version ", i), v.l, v.want, ids)
	}
}

func TestSortedChanges(t *testing.T) {
	it := func(n int64) *Item { return &Item{ModRev: n} }
	for _, tc := range []struct {
		name     string
		in, want []listed
	}{
		{"sorted", []listed{{"1", it(1)}, {"10", nil}, {"2", it(2)}}, []listed{{"1", it(1)}, {"10", nil}, {"2", it(2)}}},
		{"unsorted", []listed{{"2", it(1)}, {"10", it(2)}, {"1", nil}}, []listed{{"1", nil}, {"10", it(2)}, {"2", it(1)}}},
		{"last wins", []listed{{"a", it(1)}, {"b", it(2)}, {"a", nil}, {"b", it(3)}, {"a", it(4)}},
			[]listed{{"a", it(4)}, {"b", it(3)}}},
		{"repeated in order", []listed{{"a", it(1)}, {"a", nil}}, []listed{{"a", nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := sortedChanges(tc.in)
			if fmt.Sprint(describeListed(got)) != fmt.Sprint(describeListed(tc.want)) {
				t.Fatalf("got %v, want %v", describeListed(got), describeListed(tc.want))
			}
		})
	}
}

func describeListed(l []listed) []string {
	var out []string
	for _, e := range l {
		if e.item == nil {
			out = append(out, e.id+":deleted")
		} else {
			out = append(out, fmt.Sprintf("%s:%d", e.id, e.item.ModRev))
		}
	}
	return out
}

// TestSnapshotsListWhatIsStored drives a Builder with a first load,
// random incremental batches (invalid writes among them, which keep the
// last good version) and full re-lists that drop objects, and checks each
// snapshot's Items and Item for routes, services and upstreams against
// what was last stored, and at the end that old snapshots list what they
// did.
func TestSnapshotsListWhatIsStored(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2))
	kinds := []*config.Kind{config.Routes, config.Services, config.Upstreams}
	valid := map[*config.Kind]string{
		config.Routes:    `{"uri": "/r%d", "upstream_id": "1"}`,
		config.Services:  `{"name": "s%d"}`,
		config.Upstreams: `{"nodes": {"10.0.0.%d:80": 1}}`,
	}
	ids := make([]string, 60)
	for i := range ids {
		ids[i] = fmt.Sprint(i)
	}
	b := &Builder{Mode: trie.HostURI}
	live := map[*config.Kind]map[string]Change{}
	for _, k := range kinds {
		live[k] = map[string]Change{}
	}
	rev := int64(0)
	invalid := map[*Item]bool{}
	randomPut := func(k *config.Kind, id string) Change {
		rev++
		if rng.IntN(10) == 0 {
			c := put(k, id, rev, `{"uri": 5, "nodes": 5, "name": 5}`)
			invalid[c.Item] = true
			return c
		}
		return put(k, id, rev, fmt.Sprintf(valid[k], rng.IntN(200)))
	}
	record := func(c Change) {
		switch {
		case c.Item == nil:
			delete(live[c.Kind], c.ID)
		case !invalid[c.Item]:
			live[c.Kind][c.ID] = c
		}
	}
	type version struct {
		snap *Snapshot
		want map[*config.Kind]map[string]*Item
	}
	wantOf := func() map[*config.Kind]map[string]*Item {
		want := map[*config.Kind]map[string]*Item{}
		for _, k := range kinds {
			want[k] = map[string]*Item{}
			for id, c := range live[k] {
				want[k][id] = c.Item
			}
		}
		return want
	}
	check := func(what string, v version) {
		t.Helper()
		for _, k := range kinds {
			var sorted []*Item
			for _, id := range slices.Sorted(maps.Keys(v.want[k])) {
				sorted = append(sorted, v.want[k][id])
			}
			if got := v.snap.Items(k); !slices.Equal(got, sorted) {
				t.Fatalf("%s: %s lists %s, want %s", what, k.Name, keysOf(got), keysOf(sorted))
			}
			for _, id := range ids {
				if got := v.snap.Item(k, id); got != v.want[k][id] {
					t.Fatalf("%s: %s %s is %v, want %v", what, k.Name, id, got, v.want[k][id])
				}
			}
		}
	}
	var history []version
	for step := range 300 {
		var batch []Change
		full := step == 0 || rng.IntN(15) == 0
		if full {
			// A (re-)list: most objects as they are, some rewritten, some
			// gone, some new; in key order or, as a file lists them, not.
			for _, k := range kinds {
				for _, id := range ids {
					c, ok := live[k][id]
					switch r := rng.IntN(10); {
					case ok && r < 7:
						batch = append(batch, c) // unchanged: the same ModRev
					case ok && r == 7:
						batch = append(batch, randomPut(k, id))
					case !ok && r == 0:
						batch = append(batch, randomPut(k, id))
					}
				}
			}
			if rng.IntN(2) == 0 {
				rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			}
			listed := map[*config.Kind]map[string]bool{}
			for _, c := range batch {
				if listed[c.Kind] == nil {
					listed[c.Kind] = map[string]bool{}
				}
				listed[c.Kind][c.ID] = true
			}
			for _, k := range kinds {
				for id := range live[k] {
					if !listed[k][id] {
						delete(live[k], id)
					}
				}
			}
		} else {
			for range 1 + rng.IntN(4) {
				k, id := kinds[rng.IntN(len(kinds))], ids[rng.IntN(len(ids))]
				if rng.IntN(3) == 0 {
					batch = append(batch, del(k, id))
				} else {
					batch = append(batch, randomPut(k, id))
				}
			}
		}
		for _, c := range batch {
			record(c)
		}
		snap, _ := b.Apply(rev, batch, full)
		v := version{snap, wantOf()}
		check(fmt.Sprint("step ", step), v)
		history = append(history, v)
	}
	for i, v := range history {
		check(fmt.Sprint("kept snapshot ", i), v)
	}
}

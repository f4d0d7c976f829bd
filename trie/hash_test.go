package trie

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// weakHash collides on purpose: keys k and k^1 share a hash, and ids are
// not mixed in, so the table must tell keys apart by id and bytes.
func weakHash(k int) uint64 {
	x := uint64(k>>1) + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// noSlab allocates each record alone, as an update does.
var noSlab *recSlab[string]

type hkey struct {
	id uint64
	k  int
}

func (h hkey) key() string { return fmt.Sprintf("/k/%d", h.k) }

// TestHashTableMatchesMap applies random sets and deletes, with colliding
// hashes, in txns of random size, through shard growth, splits and
// directory doubling and back down, checking every key against a map after
// each txn, and that a version kept from earlier still answers as it did.
func TestHashTableMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var h htable[string]
	model := map[hkey]string{}
	type kept struct {
		h     htable[string]
		model map[hkey]string
	}
	var old []kept
	check := func(h *htable[string], model map[hkey]string) {
		t.Helper()
		n := 0
		for id := uint64(0); id < 3; id++ {
			for k := 0; k < 3000; k++ {
				hk := hkey{id, k}
				rec := h.get(weakHash(k), id, hk.key())
				want, ok := model[hk]
				switch {
				case ok && (rec == nil || rec.b.first.value != want):
					t.Fatalf("key %v: got %v, want %q", hk, rec, want)
				case !ok && rec != nil:
					t.Fatalf("key %v: deleted, found %q", hk, rec.b.first.value)
				}
				if ok {
					n++
				}
			}
		}
		if h.n != n {
			t.Fatalf("n %d, want %d", h.n, n)
		}
	}
	for round := 0; round < 300; round++ {
		t0 := newTxn()
		if round == 0 {
			t0 = buildTxn()
		}
		growing := round < 150
		for range 1 + rng.IntN(60) {
			hk := hkey{uint64(rng.IntN(3)), rng.IntN(3000)}
			if growing || rng.IntN(4) == 0 {
				v := fmt.Sprintf("v%d", rng.Int())
				h.set(t0, weakHash(hk.k), hk.id, hk.key(), noSlab.newRec(hk.id, hk.key(), bucket[string]{first: entry[string]{value: v}}))
				model[hk] = v
			} else {
				h.set(t0, weakHash(hk.k), hk.id, hk.key(), nil)
				delete(model, hk)
			}
		}
		check(&h, model)
		if round%50 == 0 {
			cp := map[hkey]string{}
			for k, v := range model {
				cp[k] = v
			}
			old = append(old, kept{h, cp})
		}
	}
	if h.depth == 0 {
		t.Fatalf("the table never split (%d keys)", h.n)
	}
	for _, o := range old {
		check(&o.h, o.model)
	}
}

// TestExactChurn adds thousands of exact routes one Update at a time (the
// hash table splits under txns that own nothing at first), over several
// hosts, then deletes them in random order; every version answers for
// every route, and an early version is untouched by the later ones.
func TestExactChurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 4000
	hosts := []string{"", "a.com", "*.b.com"}
	mk := func(i int) *Route[string] {
		rt := &Route[string]{ID: fmt.Sprint(i), Paths: []string{fmt.Sprintf("/p/%d", i%1500)}, Seq: i, Value: fmt.Sprint(i)}
		if h := hosts[i%3]; h != "" {
			rt.Hosts = []string{h}
		}
		return rt
	}
	query := func(i int) *Query {
		host := []string{"x.org", "a.com", "c.b.com"}[i%3]
		return testQuery([]string{"path=" + fmt.Sprintf("/p/%d", i%1500), "host=" + host})
	}
	r, _ := New[string](HostURI, nil)
	var early *Router[string]
	live := map[int]bool{}
	for i := range n {
		var err error
		if r, err = r.Update(nil, mk(i)); err != nil {
			t.Fatal(err)
		}
		live[i] = true
		if i == 100 {
			early = r
		}
	}
	order := rng.Perm(n)
	for step, i := range order {
		var err error
		if r, err = r.Update(mk(i), nil); err != nil {
			t.Fatal(err)
		}
		delete(live, i)
		if step%500 != 0 && step != n-1 {
			continue
		}
		// The first live route with i's path and host wins (same priority,
		// lowest Seq); with none, host-less routes of the path, then none.
		for j := range n {
			q := query(j)
			got, ok := r.Match(q)
			want := ""
			for _, cand := range []int{j % 3, 0} {
				for k := cand; k < n && want == ""; k += 3 {
					if k%1500 == j%1500 && live[k] {
						want = fmt.Sprint(k)
					}
				}
				if want != "" || cand == 0 {
					break
				}
			}
			if (want != "") != ok || got != want {
				t.Fatalf("step %d, query %d (%s %s): got %q %v, want %q", step, j, q.Path, q.Host, got, ok, want)
			}
		}
	}
	if r.Len() != 0 || r.exact.n != 0 {
		t.Fatalf("after deleting everything: %d routes, %d exact keys", r.Len(), r.exact.n)
	}
	for i := range 101 {
		if got, ok := early.Match(query(i)); !ok || got == "" {
			t.Fatalf("early version lost route %d", i)
		}
	}
}

// TestHashTablePages grows the directory past one page, in a build and
// then key by key, and empties it again, checking every key each time and
// that the version after the build is untouched.
func TestHashTablePages(t *testing.T) {
	const built, added = 60_000, 3_000
	var h htable[string]
	bt := buildTxn()
	put := func(t0 *txn, k int) {
		hk := hkey{uint64(k % 2), k}
		h.set(t0, weakHash(k), hk.id, hk.key(), noSlab.newRec(hk.id, hk.key(), bucket[string]{first: entry[string]{value: hk.key()}}))
	}
	for k := range built {
		put(bt, k)
	}
	afterBuild := h
	for k := built; k < built+added; k++ {
		put(newTxn(), k)
	}
	if h.depth <= dirPageBits {
		t.Fatalf("depth %d: the directory never left its first page", h.depth)
	}
	check := func(h *htable[string], upTo int, gone func(int) bool) {
		t.Helper()
		for k := range built + added {
			hk := hkey{uint64(k % 2), k}
			rec := h.get(weakHash(k), hk.id, hk.key())
			if want := k < upTo && !gone(k); (rec != nil) != want || (want && rec.b.first.value != hk.key()) {
				t.Fatalf("key %d: found %v, want %v", k, rec != nil, want)
			}
		}
	}
	check(&h, built+added, func(int) bool { return false })
	for k := 0; k < built+added; k += 2 {
		hk := hkey{0, k}
		h.set(newTxn(), weakHash(k), hk.id, hk.key(), nil)
	}
	check(&h, built+added, func(k int) bool { return k%2 == 0 })
	check(&afterBuild, built, func(int) bool { return false })
}

// TestSlabRecordsAligned checks that a build's records, cut from slabs,
// start on cache lines as lone records do: one that straddles a third line
// costs every lookup that reaches it a miss (recSlab).
func TestSlabRecordsAligned(t *testing.T) {
	routes := make([]*Route[*int], 3*slabRecs)
	for i := range routes {
		routes[i] = &Route[*int]{Paths: []string{fmt.Sprintf("/svc%d/res%d", i%10, i)}, Value: new(int)}
	}
	r, err := New(URI, routes)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, pg := range r.exact.pages {
		for _, s := range pg {
			if s.slots == nil {
				continue
			}
			for _, sl := range s.slice() {
				if sl.rec == nil {
					continue
				}
				if p := uintptr(unsafe.Pointer(sl.rec)); p%64 != 0 {
					t.Fatalf("record %q at %#x: not on a cache line", sl.rec.key, p)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no records")
	}
}

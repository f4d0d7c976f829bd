package trie

import (
	"hash/maphash"
	"unsafe"
)

// htable is the router's hash table: a persistent map from (hash id,
// key) to the bucket of routes stored at that key, for exact paths and for
// prefix keys that end in '/' (pathIndex; the hash id is the path index's
// id and the key's class). lua-resty-radixtree keeps exact paths in a hash
// and looks there before walking its tree; here the point is memory: a
// lookup touches the directory (small and hot), one line of slots and the
// record, whose first entry and the key's first bytes are inline, where a
// trie walk to the same key touches a cold line per level.
//
// Layout: extendible hashing. The directory has 1<<depth entries indexed
// by the hash's top bits, in pages of dirPage entries; each entry describes
// a shard (an open-addressed array of slots, linear probing on the hash's
// low bits), and a shard of local depth d < depth is described by the
// 1<<(depth-d) entries that share its top d bits. A full shard of
// maxShardSlots splits in two by the next hash bit (doubling the directory
// when its depth is already the directory's), so a change costs one shard
// copied (4 KiB), one directory page (1 KiB) and the page list (8 bytes a
// page: 1 KiB at 1M keys), never a rehash of the whole table.
//
// Persistence, as in radix.go: published arrays are never written. A txn
// copies the page list, the pages and the shard it changes, and writes in
// place only what it created itself (a build from nothing owns
// everything).
type htable[T any] struct {
	pages []*[dirPage]hshard[T] // the directory: max(1, (1<<depth)/dirPage) pages; nil while empty
	depth uint8
	n     int // keys stored
}

// dirPage is how many directory entries a page holds (1 KiB). Pages of
// 4 KiB made every change copy 3 KiB more, which at 1M routes is fresh
// memory the change faults in (issue 13); 1 KiB pages balance the page
// and the page list near 1M keys.
const (
	dirPageBits = 6
	dirPage     = 1 << dirPageBits
)

// hshard describes one shard. Every directory entry of the shard holds
// the same copy.
type hshard[T any] struct {
	slots *hslot[T] // first of mask+1
	mask  uint32
	n     uint16 // keys stored
	depth uint8  // local depth: how many top hash bits its keys share
}

type hslot[T any] struct {
	hash uint64
	rec  *hrec[T] // nil: empty slot
}

// hrec is one key and its routes. Replaced, never modified, once
// published. Sized to two cache lines (128 bytes for a pointer value T):
// the first entry and up to preLen bytes of the key are inline, so a hit
// on an exact path with one route reads nothing else.
type hrec[T any] struct {
	b   bucket[T]
	key string
	id  uint64 // hashID of the key's path index and class
	pre [preLen]byte
}

// preLen is how many leading bytes of a key its record holds inline.
const preLen = 48

const (
	minShardSlots = 8
	maxShardSlots = 256 // a shard copy is 4 KiB
	// A shard holds at most 3/4 of its slots: linear probing stays near
	// two probes, within one or two cache lines of slots.
	loadNum, loadDen = 3, 4
	// maxDepth bounds the directory (1<<20 entries, 16 MiB; 1M keys use
	// about 1<<13): keys whose hashes agree on this many top bits (only
	// ever by a collision of the seeded hash) grow their shard instead of
	// splitting it for ever.
	maxDepth = 20
)

// recSlab hands out the records of a build, cut from slabs of slabRecs:
// a build makes a record for nearly every route, and a million 128-byte
// objects (issue 13) cost a million mallocs, and the GC marks each of
// them on every cycle for as long as the router lives. A nil recSlab (an
// update, which makes one or two) allocates each record alone.
//
// A slab is only written while its build runs; once published, its
// records are replaced, never modified, like any other. A slab lives while
// any of its records does, so records that updates replace keep their
// slab's memory: never more than the build's own records (128 bytes a
// route, reached only when nearly every route has changed but one in each
// slab), and given back by the next build.
type recSlab[T any] struct {
	free []hrec[T] // the current slab's records not yet handed out
}

// slabRecs makes a slab 32 KiB for a pointer T (the sync package's): an
// allocation that size is a run of whole pages, so every record starts on
// a cache line and stays within two, as a lone record does in its size
// class. A smaller slab holding pointers starts with an 8-byte type header
// that shifted every record across three lines, and lookups slowed.
const slabRecs = 256

func (s *recSlab[T]) newRec(id uint64, key string, b bucket[T]) *hrec[T] {
	var r *hrec[T]
	if s == nil {
		r = new(hrec[T])
	} else {
		if len(s.free) == 0 {
			s.free = make([]hrec[T], slabRecs)
		}
		r, s.free = &s.free[0], s.free[1:]
	}
	r.b, r.key, r.id = b, key, id
	copy(r.pre[:], key)
	return r
}

// keyIs reports whether the record's key is p.
//
//gcassert:inline
func (r *hrec[T]) keyIs(p []byte) bool {
	if len(p) != len(r.key) {
		return false
	}
	if len(p) <= preLen {
		return string(p) == string(r.pre[:len(p)])
	}
	return string(p) == r.key
}

// mixID spreads an index id over the hash, so the same path under two
// indexes lands in unrelated places (a bijection: distinct ids, distinct
// hashes of one path).
//
//gcassert:inline
func mixID(id uint64) uint64 { return id * 0x9e3779b97f4a7c15 }

// hashPath is the hash of a path under seed; the key hash of (id, path) is
// hashPath ^ mixID(id).
func hashPath(seed maphash.Seed, p []byte) uint64 { return maphash.Bytes(seed, p) }

func (s *hshard[T]) slot(i uint32) *hslot[T] {
	return (*hslot[T])(unsafe.Add(unsafe.Pointer(s.slots), uintptr(i)*unsafe.Sizeof(hslot[T]{})))
}

func (s *hshard[T]) slice() []hslot[T] { return unsafe.Slice(s.slots, int(s.mask)+1) }

// find returns the record for (id, p) whose key hash is h, or nil. Safe
// from any goroutine; allocates nothing.
func (h *htable[T]) find(hash uint64, id uint64, p []byte) *hrec[T] {
	if h.n == 0 {
		return nil
	}
	di := hash >> (64 - h.depth) // depth 0: a shift by 64 is 0
	s := &h.pages[di>>dirPageBits][di&(dirPage-1)]
	i := uint32(hash) & s.mask
	for {
		sl := s.slot(i)
		if sl.rec == nil {
			return nil
		}
		if sl.hash == hash && sl.rec.id == id && sl.rec.keyIs(p) {
			return sl.rec
		}
		i = (i + 1) & s.mask
	}
}

// get is find for the builder, with the key as a string.
func (h *htable[T]) get(hash uint64, id uint64, key string) *hrec[T] {
	return h.find(hash, id, unsafe.Slice(unsafe.StringData(key), len(key)))
}

// dirIndex returns the directory index for hash.
func (h *htable[T]) dirIndex(hash uint64) uint32 { return uint32(hash >> (64 - h.depth)) }

// set stores rec for its (id, key), whose key hash is hash, under t; nil
// removes the key (rec's fields are not read then, so the caller passes
// id and key).
func (h *htable[T]) set(t *txn, hash uint64, id uint64, key string, rec *hrec[T]) {
	if h.pages == nil {
		if rec == nil {
			return
		}
		h.pages = h.newPages(t, 1)
		h.pages[0][0] = newShard[T](t, minShardSlots, 0)
	}
	p := unsafe.Slice(unsafe.StringData(key), len(key))
	for {
		di := h.dirIndex(hash)
		s := *h.entry(di)
		i, found := s.locate(hash, id, p)
		switch {
		case rec == nil && !found:
			return
		case rec == nil:
			s.own(t)
			s.remove(i)
			s.n--
			h.n--
			h.publish(t, di, s)
			return
		case found:
			s.own(t)
			s.slot(i).rec = rec
			h.publish(t, di, s)
			return
		case (int(s.n)+1)*loadDen <= (int(s.mask)+1)*loadNum:
			s.own(t)
			*s.slot(i) = hslot[T]{hash: hash, rec: rec}
			s.n++
			h.n++
			h.publish(t, di, s)
			return
		case s.mask+1 < maxShardSlots || s.depth >= maxDepth:
			h.publish(t, di, s.resized(t, 2*(int(s.mask)+1), s.depth))
		default:
			h.split(t, di, s)
		}
		// Grown or split: look again.
	}
}

// locate returns the slot holding (id, p), or the empty slot where it
// would go.
func (s *hshard[T]) locate(hash uint64, id uint64, p []byte) (uint32, bool) {
	i := uint32(hash) & s.mask
	for {
		sl := s.slot(i)
		if sl.rec == nil {
			return i, false
		}
		if sl.hash == hash && sl.rec.id == id && sl.rec.keyIs(p) {
			return i, true
		}
		i = (i + 1) & s.mask
	}
}

// own makes s's slots writable under t.
func (s *hshard[T]) own(t *txn) {
	if t.owns(unsafe.Pointer(s.slots)) {
		return
	}
	arr := append([]hslot[T](nil), s.slice()...)
	s.slots = &arr[0]
	t.mark(unsafe.Pointer(s.slots))
}

// remove empties slot i and shifts later members of its probe run back,
// so every key stays reachable from its home slot without tombstones.
func (s *hshard[T]) remove(i uint32) {
	j := i
	for {
		j = (j + 1) & s.mask
		sj := s.slot(j)
		if sj.rec == nil {
			break
		}
		home := uint32(sj.hash) & s.mask
		// Move j back to i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			*s.slot(i) = *sj
			i = j
		}
	}
	*s.slot(i) = hslot[T]{}
}

func newShard[T any](t *txn, slots int, depth uint8) hshard[T] {
	arr := make([]hslot[T], slots)
	t.mark(unsafe.Pointer(&arr[0]))
	return hshard[T]{slots: &arr[0], mask: uint32(slots - 1), depth: depth}
}

// resized returns a copy of s with the given number of slots.
func (s *hshard[T]) resized(t *txn, slots int, depth uint8) hshard[T] {
	ns := newShard[T](t, slots, depth)
	for _, sl := range s.slice() {
		if sl.rec != nil {
			ns.insert(sl)
		}
	}
	return ns
}

// insert adds a slot known to be absent; ns has room.
func (s *hshard[T]) insert(sl hslot[T]) {
	i := uint32(sl.hash) & s.mask
	for s.slot(i).rec != nil {
		i = (i + 1) & s.mask
	}
	*s.slot(i) = sl
	s.n++
}

func (h *htable[T]) entry(di uint32) *hshard[T] {
	return &h.pages[di>>dirPageBits][di&(dirPage-1)]
}

// newPages returns n new directory pages, owned by t.
func (h *htable[T]) newPages(t *txn, n int) []*[dirPage]hshard[T] {
	pages := make([]*[dirPage]hshard[T], n)
	for i := range pages {
		pages[i] = new([dirPage]hshard[T])
		t.mark(unsafe.Pointer(pages[i]))
	}
	t.mark(unsafe.Pointer(&pages[0]))
	return pages
}

// write sets directory entry di under t, copying the page list and the
// page first unless t owns them.
func (h *htable[T]) write(t *txn, di uint32, s hshard[T]) {
	if !t.owns(unsafe.Pointer(&h.pages[0])) {
		h.pages = append([]*[dirPage]hshard[T](nil), h.pages...)
		t.mark(unsafe.Pointer(&h.pages[0]))
	}
	pg := &h.pages[di>>dirPageBits]
	if !t.owns(unsafe.Pointer(*pg)) {
		cp := **pg
		*pg = &cp
		t.mark(unsafe.Pointer(*pg))
	}
	(*pg)[di&(dirPage-1)] = s
}

// publish writes s to every directory entry of its shard (those sharing
// the top s.depth bits of index di).
func (h *htable[T]) publish(t *txn, di uint32, s hshard[T]) {
	span := uint32(1) << (h.depth - s.depth)
	base := di &^ (span - 1)
	for k := base; k < base+span; k++ {
		h.write(t, k, s)
	}
}

// split divides a full shard in two by the next hash bit, doubling the
// directory first if the shard already uses all of its bits.
func (h *htable[T]) split(t *txn, di uint32, s hshard[T]) {
	if s.depth == h.depth {
		old, size := h.pages, uint32(1)<<h.depth
		h.pages = h.newPages(t, max(1, int(2*size)/dirPage))
		for k := range 2 * size {
			*h.entry(k) = old[(k>>1)>>dirPageBits][(k>>1)&(dirPage-1)]
		}
		h.depth++
		di <<= 1
	}
	d := s.depth + 1
	hi := newShard[T](t, int(s.mask)+1, d)
	from := s.slice()
	var lo hshard[T]
	var scratch [maxShardSlots]hslot[T]
	if t.owns(unsafe.Pointer(s.slots)) && len(from) <= maxShardSlots {
		// Refill s's own array (every split of a build): one new shard
		// a split rather than two, and no old one left to collect.
		from = scratch[:copy(scratch[:], from)]
		clear(s.slice())
		lo = hshard[T]{slots: s.slots, mask: s.mask, depth: d}
	} else {
		lo = newShard[T](t, int(s.mask)+1, d)
	}
	bit := uint64(1) << (63 - s.depth)
	for _, sl := range from {
		switch {
		case sl.rec == nil:
		case sl.hash&bit == 0:
			lo.insert(sl)
		default:
			hi.insert(sl)
		}
	}
	span := uint32(1) << (h.depth - s.depth)
	base := di &^ (span - 1)
	for k := base; k < base+span/2; k++ {
		h.write(t, k, lo)
	}
	for k := base + span/2; k < base+span; k++ {
		h.write(t, k, hi)
	}
}

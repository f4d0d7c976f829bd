package trie

import (
	"bytes"
	"unsafe"
)

// radix is a persistent compressed radix trie from byte strings to values.
// The router keeps prefix keys in it (exact paths are in the hash table,
// hash.go) and, in HostURI mode, reversed hosts.
//
// Layout (the point of this file): a node is one 64-byte cache line. Its
// edge label (up to maxLabel bytes; longer edges are chains of nodes) and
// its children's first bytes (up to maxNarrow children) are stored inline;
// its children are stored by value in one contiguous array, so stepping to
// a child touches one cache line instead of the three a pointer-per-child
// layout costs (node, first-byte string, child pointer array). A node with
// more than maxNarrow children ("wide") keeps a 256-slot array indexed by
// byte. A value sits behind one pointer, read only where a key ends: for a
// path trie that pointer is the bucket itself, whose first entry is inline,
// so reaching a route from its key node costs one more cache line.
//
// Persistence: published nodes are never modified. A txn copies the
// children arrays on the path it changes (path copying) and shares every
// other array with earlier versions; arrays and nodes it created itself are
// changed in place, so a bulk build copies nothing.
type radix[V any] struct {
	root *rnode[V]
}

const (
	maxLabel  = 22
	maxNarrow = 16
	wideSlots = 256
)

type rnode[V any] struct {
	kids   *rnode[V] // first element of the children array (nil: none)
	vals   *V        // nil: no value at this key; replaced, never modified, once published
	first  [maxNarrow]byte
	label  [maxLabel]byte
	lablen uint8
	flags  uint8
	nkids  uint16 // children present (in a wide array, occupied slots)
}

const flagWide = 1

func (n *rnode[V]) wide() bool { return n.flags&flagWide != 0 }

func (n *rnode[V]) labelBytes() []byte { return n.label[:n.lablen] }

func (n *rnode[V]) slots() int {
	if n.wide() {
		return wideSlots
	}
	return int(n.nkids)
}

// children returns the children array (for a wide node, all 256 slots,
// empty ones zero).
func (n *rnode[V]) children() []rnode[V] {
	if n.kids == nil {
		return nil
	}
	return unsafe.Slice(n.kids, n.slots())
}

// child returns the child whose label starts with b, or nil.
//
//gcassert:inline
func (n *rnode[V]) child(b byte) *rnode[V] {
	if n.wide() {
		c := (*rnode[V])(unsafe.Add(unsafe.Pointer(n.kids), uintptr(b)*unsafe.Sizeof(*n)))
		if c.lablen == 0 {
			return nil
		}
		return c
	}
	i := bytes.IndexByte(n.first[:n.nkids], b)
	if i < 0 {
		return nil
	}
	return (*rnode[V])(unsafe.Add(unsafe.Pointer(n.kids), uintptr(i)*unsafe.Sizeof(*n)))
}

func (n *rnode[V]) empty() bool { return n.vals == nil && n.nkids == 0 }

// txn is one batch of changes producing a new version. It owns what it
// created: those arrays and nodes change in place. A txn building a router
// from nothing owns everything it can reach (all), and keeps no set: at
// 1M routes the set alone cost more than the build.
type txn struct {
	owned map[unsafe.Pointer]struct{}
	all   bool
}

func newTxn() *txn { return &txn{owned: make(map[unsafe.Pointer]struct{})} }

// buildTxn is the txn of a build from nothing.
func buildTxn() *txn { return &txn{all: true} }

func (t *txn) owns(p unsafe.Pointer) bool {
	if t.all {
		return true
	}
	_, ok := t.owned[p]
	return ok
}

func (t *txn) mark(p unsafe.Pointer) {
	if !t.all {
		t.owned[p] = struct{}{}
	}
}

// ownRoot makes r.root writable under t.
func (r *radix[V]) ownRoot(t *txn) *rnode[V] {
	if r.root == nil {
		r.root = &rnode[V]{}
		t.mark(unsafe.Pointer(r.root))
	} else if !t.owns(unsafe.Pointer(r.root)) {
		c := *r.root
		r.root = &c
		t.mark(unsafe.Pointer(r.root))
	}
	return r.root
}

// ownKids makes n's children array writable under t (n itself must be).
func ownKids[V any](t *txn, n *rnode[V]) {
	if n.kids == nil || t.owns(unsafe.Pointer(n.kids)) {
		return
	}
	arr := append([]rnode[V](nil), n.children()...)
	n.kids = &arr[0]
	t.mark(unsafe.Pointer(n.kids))
}

// slot says which of the two kinds of key a route path makes: exact (the
// key must equal the whole input) or prefix (the key is a prefix of the
// input). Hosts use the same two kinds: an exact host, or a wildcard
// suffix.
type slot uint8

const (
	slotExact slot = iota
	slotPrefix
)

// get returns the value stored at key exactly, or nil.
func (r *radix[V]) get(key string) *V {
	n := r.root
	for n != nil {
		if key == "" {
			return n.vals
		}
		c := n.child(key[0])
		if c == nil || len(key) < int(c.lablen) || key[:c.lablen] != string(c.labelBytes()) {
			return nil
		}
		key = key[c.lablen:]
		n = c
	}
	return nil
}

// set stores v at key (nil clears it) under t; v must not be modified
// afterwards. Clearing prunes nodes left without values or children and
// re-merges chains, so a deleted key leaves nothing behind.
func (r *radix[V]) set(t *txn, key string, v *V) {
	if r.root == nil && v == nil {
		return
	}
	root := r.ownRoot(t)
	setIn(t, root, key, v)
	if root.empty() {
		r.root = nil
	}
}

// setIn applies the change below n, which is writable; key is what remains
// after n's label.
func setIn[V any](t *txn, n *rnode[V], key string, v *V) {
	if key == "" {
		n.vals = v
		return
	}
	c := n.child(key[0])
	if c == nil {
		if v != nil {
			addChain(t, n, key, v)
		}
		return
	}
	lab := string(c.labelBytes())
	common := commonPrefix(key, lab)
	if common < len(lab) && v == nil {
		return // the key is not in the tree
	}
	ownKids(t, n)
	c = n.child(key[0]) // the same child, in the owned array
	if common < len(lab) {
		// Split c: c keeps the shared part, its old self goes below.
		tail := *c
		tail.setLabel(lab[common:])
		arr := []rnode[V]{tail}
		t.mark(unsafe.Pointer(&arr[0]))
		*c = rnode[V]{kids: &arr[0], nkids: 1}
		c.setLabel(lab[:common])
		c.first[0] = tail.label[0]
	}
	setIn(t, c, key[common:], v)
	switch {
	case c.empty():
		removeChild(t, n, key[0])
	case c.vals == nil && c.nkids == 1 && !c.wide():
		// Re-compress a chain link that carries nothing, if it fits.
		only := c.children()[0]
		if int(c.lablen)+int(only.lablen) <= maxLabel {
			merged := only
			merged.setLabel(string(c.labelBytes()) + string(only.labelBytes()))
			*c = merged
		}
	}
}

func (n *rnode[V]) setLabel(s string) {
	n.lablen = uint8(copy(n.label[:], s))
}

// addChain adds a new child of n for key (a chain when key is longer than
// one label) ending in the value; n is writable.
func addChain[V any](t *txn, n *rnode[V], key string, v *V) {
	head := rnode[V]{}
	cur := &head
	for {
		piece := key
		if len(piece) > maxLabel {
			piece = key[:maxLabel]
		}
		cur.setLabel(piece)
		key = key[len(piece):]
		if key == "" {
			cur.vals = v
			break
		}
		arr := []rnode[V]{{}}
		t.mark(unsafe.Pointer(&arr[0]))
		cur.kids, cur.nkids = &arr[0], 1
		cur.first[0] = key[0]
		cur = &arr[0]
	}
	insertChild(t, n, head)
}

// insertChild adds c to n's children; n is writable.
func insertChild[V any](t *txn, n *rnode[V], c rnode[V]) {
	b := c.label[0]
	if n.wide() {
		ownKids(t, n)
		n.children()[b] = c
		n.nkids++
		return
	}
	kids := n.children()
	if int(n.nkids) == maxNarrow {
		// Go wide: a 256-slot array indexed by first byte.
		arr := make([]rnode[V], wideSlots)
		for _, k := range kids {
			arr[k.label[0]] = k
		}
		arr[b] = c
		t.mark(unsafe.Pointer(&arr[0]))
		n.kids, n.nkids, n.flags = &arr[0], n.nkids+1, n.flags|flagWide
		return
	}
	i := 0
	for i < int(n.nkids) && n.first[i] < b {
		i++
	}
	arr := make([]rnode[V], 0, len(kids)+1)
	arr = append(arr, kids[:i]...)
	arr = append(arr, c)
	arr = append(arr, kids[i:]...)
	t.mark(unsafe.Pointer(&arr[0]))
	copy(n.first[i+1:], n.first[i:n.nkids])
	n.first[i] = b
	n.kids = &arr[0]
	n.nkids++
}

// removeChild drops the child starting with b; n is writable.
func removeChild[V any](t *txn, n *rnode[V], b byte) {
	if n.wide() {
		ownKids(t, n)
		n.children()[b] = rnode[V]{}
		n.nkids--
		if n.nkids == 0 {
			n.kids, n.flags = nil, n.flags&^flagWide
		}
		return
	}
	i := bytes.IndexByte(n.first[:n.nkids], b)
	kids := n.children()
	if n.nkids == 1 {
		n.kids, n.nkids = nil, 0
		return
	}
	arr := make([]rnode[V], 0, len(kids)-1)
	arr = append(arr, kids[:i]...)
	arr = append(arr, kids[i+1:]...)
	t.mark(unsafe.Pointer(&arr[0]))
	copy(n.first[i:], n.first[i+1:n.nkids])
	n.nkids--
	n.first[n.nkids] = 0
	n.kids = &arr[0]
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

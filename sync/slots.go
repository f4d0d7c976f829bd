package sync

import (
	stdsync "sync"
)

// Ref names runtime state that outlives a snapshot but not the object it
// belongs to: an upstream node's keepalive pool and load statistics, an
// upstream's balancer cursors. Event loops keep that state in tables they
// own, indexed by Slot, so finding it costs an index, not a map lookup.
//
// Slots are reused once nothing in the configuration refers to them, which
// keeps the loops' tables as small as the live configuration however much
// it churns (Kubernetes pod IPs, autoscaling). Gen is bumped on every reuse:
// a loop holding state for an older Gen resets it (closing a node's idle
// connections) before serving the new owner, and state carried by a request
// that started on an older snapshot is recognised as stale and dropped.
// So the number of loops never has to match anything in the snapshot: each
// loop sizes its own tables (issue 7: no arrays in the snapshot sized from a
// separate number).
type Ref struct {
	Slot uint32
	Gen  uint32
}

// Newer reports whether r is a later owner of the same slot than o (Gen
// counts reuses; a slot is reused far fewer than 2^31 times).
func (r Ref) Newer(o Ref) bool { return int32(r.Gen-o.Gen) > 0 }

// slots hands out Refs. Only the builder's goroutine uses it.
type slots struct {
	gens []uint32 // current generation per slot
	free []uint32 // released slots, reused last-in first-out
}

func (s *slots) alloc() Ref {
	if n := len(s.free); n > 0 {
		slot := s.free[n-1]
		s.free = s.free[:n-1]
		s.gens[slot]++
		return Ref{Slot: slot, Gen: s.gens[slot]}
	}
	s.gens = append(s.gens, 1)
	return Ref{Slot: uint32(len(s.gens) - 1), Gen: 1}
}

func (s *slots) release(r Ref) { s.free = append(s.free, r.Slot) }

// live returns how many slots are in use.
func (s *slots) live() int { return len(s.gens) - len(s.free) }

// nodeTable interns upstream node addresses: every compiled upstream that
// lists an address shares its Ref, counted, and the Ref is released (and
// logged as retired) when the last of them goes. Builder goroutine only.
type nodeTable struct {
	slots   slots
	byAddr  map[string]*nodeEntry
	retired *Retirements
}

type nodeEntry struct {
	ref  Ref
	uses int
}

func (t *nodeTable) acquire(addr string) Ref {
	if t.byAddr == nil {
		t.byAddr = map[string]*nodeEntry{}
	}
	e := t.byAddr[addr]
	if e == nil {
		e = &nodeEntry{ref: t.slots.alloc()}
		t.byAddr[addr] = e
	}
	e.uses++
	return e.ref
}

func (t *nodeTable) release(addr string) {
	e := t.byAddr[addr]
	if e == nil {
		return
	}
	if e.uses--; e.uses > 0 {
		return
	}
	delete(t.byAddr, addr)
	t.slots.release(e.ref)
	t.retired.add(e.ref)
}

// maxRetired bounds the retirement log. A loop that falls further behind
// (it would have to miss that many retirements between two ticks) only
// loses promptness: the stale pools are found by their Gen on next use or
// closed by their idle timeout.
const maxRetired = 1 << 16

// Retirements is the log of node Refs no configuration refers to any more,
// so event loops can close their idle connections to those nodes at once
// instead of waiting for the idle timeout. The builder appends; each loop
// reads what is new on its timer tick. Safe from any goroutine; never
// touched on the request path.
type Retirements struct {
	mu   stdsync.Mutex // guards base and refs; held for a copy, never across I/O
	base uint64        // sequence number of refs[0]
	refs []Ref
}

func (r *Retirements) add(ref Ref) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.refs) == maxRetired {
		half := maxRetired / 2
		r.refs = append(r.refs[:0], r.refs[half:]...)
		r.base += uint64(half)
	}
	r.refs = append(r.refs, ref)
}

// Since appends to dst the Refs retired at or after sequence number seq and
// returns them with the sequence number to pass next time.
func (r *Retirements) Since(seq uint64, dst []Ref) ([]Ref, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if seq < r.base {
		seq = r.base
	}
	next := r.base + uint64(len(r.refs))
	return append(dst, r.refs[seq-r.base:]...), next
}

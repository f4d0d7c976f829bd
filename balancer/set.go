package balancer

import "math/bits"

// Set is a set of node indexes (an upstream's nodes, in config order). The
// zero value is empty and a nil *Set reads as empty. The first 128 indexes
// are kept inline; larger indexes grow an overflow slice that Reset keeps,
// so a Set reused across requests allocates only while it grows. Not safe
// for concurrent use: a Set belongs to one request on one loop.
type Set struct {
	w    [2]uint64
	more []uint64
}

// Add puts node i in the set.
func (s *Set) Add(i int) {
	if i < 128 {
		s.w[i>>6] |= 1 << (i & 63)
		return
	}
	j := (i - 128) >> 6
	for len(s.more) <= j {
		s.more = append(s.more, 0)
	}
	s.more[j] |= 1 << (i & 63)
}

// Has reports whether node i is in the set.
func (s *Set) Has(i int) bool {
	if s == nil {
		return false
	}
	if i < 128 {
		return s.w[i>>6]&(1<<(i&63)) != 0
	}
	j := (i - 128) >> 6
	return j < len(s.more) && s.more[j]&(1<<(i&63)) != 0
}

// Len returns the number of nodes in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	n := bits.OnesCount64(s.w[0]) + bits.OnesCount64(s.w[1])
	for _, w := range s.more {
		n += bits.OnesCount64(w)
	}
	return n
}

// Reset empties the set, keeping its storage.
func (s *Set) Reset() {
	s.w = [2]uint64{}
	for i := range s.more {
		s.more[i] = 0
	}
}

package balancer

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/sluicegw/sluice/config"
)

// Ring sizing. APISIX's resty.chash places 160 points per unit of weight,
// weights divided by their GCD; sluice does the same, with xxhash instead of
// crc32 (so a key does not land on the node APISIX would choose for it, but
// the properties are the same).
const (
	// PointsPerWeight is the points each unit of (GCD-reduced) weight gets.
	PointsPerWeight = 160
	// MaxRingPoints bounds one ring (12 bytes a point): above it, points
	// are scaled down in proportion, each node keeping at least one.
	// APISIX has no bound (#7042: memory growth with large weights).
	MaxRingPoints = 1 << 16
)

// chash is consistent hashing on a ring of xxhash points, one ring per
// priority group. A node's points are xxhash(host:port, NUL, point number
// as 4 little-endian bytes); the ring is those points sorted, ties broken by
// address. So the ring is a pure function of the set of (address, weight)
// pairs: every loop and every sluice process built from the same nodes, in
// any order, maps a key to the same address, and adding or removing a node
// moves only the keys whose points it gains or loses (about 1/N), provided
// every other node keeps its point count: the weights' GCD stays the same
// (a change of GCD rescales every node's points, as in resty.chash) and the
// ring stays within MaxRingPoints (past it, points are scaled to the total).
//
// A key is hashed with xxhash and owned by the first point at or after it,
// wrapping. When that node is tried or down, the walk goes on to the next
// points until an eligible node (resty.chash's next, as APISIX's retries
// use it); the ring itself never changes with health.
type chash struct {
	rings []ring
}

// ring is one priority group's ring.
type ring struct {
	hashes []uint64 // point hashes, ascending
	owners []int32  // owners[j]: the upstream node index of point j
	nodes  []int    // the group's nodes
}

var _ Picker = (*chash)(nil)

func newCHash(nodes config.Nodes, groups []group) *chash {
	c := &chash{rings: make([]ring, len(groups))}
	for gi, g := range groups {
		c.rings[gi] = buildRing(nodes, g)
	}
	return c
}

func (c *chash) Pick(_ *State, r *Request) int {
	h := xxhash.Sum64(r.Key)
	for g := range c.rings {
		if i := c.rings[g].find(h, r.Tried, r.Down); i >= 0 {
			return i
		}
	}
	if r.Down.Len() == 0 {
		return -1
	}
	for g := range c.rings {
		if i := c.rings[g].find(h, r.Tried, nil); i >= 0 {
			return i
		}
	}
	return -1
}

// find returns the node owning hash h or, when that one is tried or down,
// the owner of the next point whose node is neither; -1 if none is.
func (g *ring) find(h uint64, tried, down *Set) int {
	n := len(g.hashes)
	// Binary search for the first point >= h.
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if g.hashes[m] < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == n {
		lo = 0
	}
	if i := int(g.owners[lo]); eligible(i, tried, down) {
		return i
	}
	// Walk only when some node can end the walk: a group whose nodes are
	// all tried or down (every pick, while a higher priority group is out)
	// costs a scan of its nodes, not of its points.
	if !slices.ContainsFunc(g.nodes, func(i int) bool { return eligible(i, tried, down) }) {
		return -1
	}
	for j := lo + 1; ; j++ {
		if j == n {
			j = 0
		}
		if i := int(g.owners[j]); eligible(i, tried, down) {
			return i
		}
	}
}

// buildRing places g's points.
func buildRing(nodes config.Nodes, g group) ring {
	addrs := make([]string, len(g.nodes))
	for k, i := range g.nodes {
		addrs[k] = nodes[i].Addr()
	}
	counts := pointCounts(g.weights)
	total := 0
	for _, c := range counts {
		total += c
	}
	pts := make([]point, 0, total)
	var buf []byte
	for k, addr := range addrs {
		buf = append(append(buf[:0], addr...), 0, 0, 0, 0, 0)
		at := len(buf) - 4
		for p := range counts[k] {
			binary.LittleEndian.PutUint32(buf[at:], uint32(p))
			pts = append(pts, point{xxhash.Sum64(buf), k})
		}
	}
	pts = sortPoints(pts, addrs)
	r := ring{hashes: make([]uint64, len(pts)), owners: make([]int32, len(pts)), nodes: g.nodes}
	for j, p := range pts {
		r.hashes[j], r.owners[j] = p.h, int32(g.nodes[p.node])
	}
	return r
}

// point is a ring point while the ring is built: its hash and its node
// (an index into the group's nodes).
type point struct {
	h    uint64
	node int
}

// sortPoints orders points by hash; equal hashes (an address listed twice,
// or a 64-bit collision) by address, then by config order, so that the ring
// does not depend on the order nodes are listed in. Point hashes are
// uniform, so a bucket sort on their top bits (about 4 a bucket) followed by
// insertion sort within buckets is linear: several times faster than a
// comparison sort at 16K points, which matters on the snapshot builder's
// path. It returns the sorted copy.
func sortPoints(pts []point, addrs []string) []point {
	bucketBits := bits.Len(uint(len(pts) / 4))
	nb, shift := 1<<bucketBits, 64-bucketBits // with 0 bits, h>>64 is 0: one bucket
	start := make([]int, nb+1)
	for _, p := range pts {
		start[bucketOf(p.h, shift)+1]++
	}
	for b := range nb {
		start[b+1] += start[b]
	}
	out := make([]point, len(pts))
	fill := slices.Clone(start[:nb])
	for _, p := range pts {
		b := bucketOf(p.h, shift)
		out[fill[b]] = p
		fill[b]++
	}
	less := func(a, b point) bool {
		if a.h != b.h {
			return a.h < b.h
		}
		if c := strings.Compare(addrs[a.node], addrs[b.node]); c != 0 {
			return c < 0
		}
		return a.node < b.node
	}
	for b := range nb {
		s := out[start[b]:start[b+1]]
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && less(s[j], s[j-1]); j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
	}
	return out
}

func bucketOf(h uint64, shift int) int { return int(h >> shift) }

// pointCounts gives each weight its points: PointsPerWeight per unit of
// the weight divided by the weights' GCD, scaled down in proportion (at
// least one each) when the ring would exceed MaxRingPoints.
func pointCounts(weights []int) []int {
	g := 0
	for _, w := range weights {
		g = gcd(g, w)
	}
	var sum uint64 // of reduced weights, saturating
	for _, w := range weights {
		s, carry := bits.Add64(sum, uint64(w/g), 0)
		if carry != 0 {
			s = ^uint64(0)
		}
		sum = s
	}
	counts := make([]int, len(weights))
	for k, w := range weights {
		u := uint64(w / g)
		if sum <= MaxRingPoints/PointsPerWeight {
			counts[k] = int(u) * PointsPerWeight
		} else {
			counts[k] = max(1, int(float64(u)/float64(sum)*MaxRingPoints))
		}
	}
	return counts
}

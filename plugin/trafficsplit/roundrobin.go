package trafficsplit

import (
	"math/rand/v2"

	"github.com/sluicegw/sluice/internal/reqctx"
)

// maxPositions bounds how many rules' positions a loop keeps; past it the
// loop starts over (config churn leaves positions of rules gone).
const maxPositions = 4096

// position is one rule's round robin state on one loop: resty.roundrobin's
// cw (current weight) and last_id.
type position struct {
	cw, last int
	n        int // entries, to catch a key shared by different rules
}

type positions struct{ m map[uint64]*position }

var positionsKey = reqctx.NewLocalKey(func() any { return &positions{m: map[uint64]*position{}} })

// pick returns the index of the next entry on loop l. Loop-only.
func (r *rule) pick(l *reqctx.Loop) int {
	n := len(r.entries)
	if n == 1 {
		return 0 // resty.roundrobin's only_key
	}
	ps := l.Local(positionsKey).(*positions)
	p := ps.m[r.key]
	if p == nil || p.n != n {
		if len(ps.m) >= maxPositions {
			clear(ps.m)
		}
		p = &position{cw: r.max, last: rand.IntN(n), n: n}
		ps.m[r.key] = p
	}
	return r.next(p)
}

// next is resty.roundrobin's find: walk on from the last pick to the next
// entry whose weight reaches the current weight; after each full pass the
// current weight drops by the gcd, and starts over at the maximum.
func (r *rule) next(p *position) int {
	last, cw := p.last, p.cw
	for {
		for last++; last < len(r.entries); last++ {
			if r.entries[last].weight >= cw {
				p.cw, p.last = cw, last
				return last
			}
		}
		last = -1
		if cw -= r.gcd; cw <= 0 {
			cw = r.max
		}
	}
}

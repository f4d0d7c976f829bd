package balancer

// roundRobin is lua-resty-balancer's resty.roundrobin (APISIX's default):
// interleaved weighted round-robin. The current weight steps down by the
// GCD of the weights each time the walk wraps, and a node is chosen when its
// weight reaches the current weight, so weights 3:2:1 give A A B A B C.
// Nodes of weight 0 are never chosen (lua-resty-balancer leaves them out).
type roundRobin struct {
	weights []int
	gcd     int
	max     int
}

var _ Picker = (*roundRobin)(nil)

func newRoundRobin(weights []int) *roundRobin {
	rr := &roundRobin{weights: weights}
	for _, w := range weights {
		rr.gcd = gcd(rr.gcd, w)
		rr.max = max(rr.max, w)
	}
	return rr
}

func (rr *roundRobin) Pick(st *State, r *Request) int {
	if i := rr.walk(st, r.Tried, r.Down); i >= 0 || r.Down.Len() == 0 {
		return i
	}
	return rr.walk(st, r.Tried, nil) // every untried node is down: use them all
}

// walk advances st to the next node of the weighted cycle that is in
// neither set, or returns -1 after a full cycle found none.
func (rr *roundRobin) walk(st *State, tried, down *Set) int {
	n := len(rr.weights)
	if rr.max == 0 {
		return -1
	}
	if !st.started {
		st.started = true
		st.index = randomStart(n)
	}
	// One full cycle visits every eligible node at least once, so bound the
	// walk by n steps per weight level.
	for steps := n * (rr.max/rr.gcd + 1); steps > 0; steps-- {
		st.index++
		if st.index >= n {
			st.index = 0
		}
		if st.index == 0 {
			st.current -= rr.gcd
			if st.current <= 0 {
				st.current = rr.max
			}
		}
		i := st.index
		if w := rr.weights[i]; w > 0 && w >= st.current && !tried.Has(i) && !down.Has(i) {
			return i
		}
	}
	return -1
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

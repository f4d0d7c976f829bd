package trie

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/expr"
)

// referenceMatch is APISIX's matching order written as one sort over every
// (route, path, host) placement, with no trie: the oracle the router is
// compared with.
//
// Order: in HostURI mode, the exact host's routes, then wildcard hosts from
// the longest suffix, then host-less routes; within that, the exact path
// before prefixes, longer prefix keys first; within one stored key,
// priority (high first), then longer original path, then load order.
func referenceMatch(mode Mode, routes []*Route[string], q *Query) (string, bool) {
	type placement struct {
		r        *Route[string]
		hostRank int // 0 exact host, 1 wildcard, 2 host-less
		hostLen  int
		exact    bool
		keyLen   int
		pathOrg  string
		pattern  pathPattern
	}
	var ps []placement
	host := string(q.Host)
	for _, r := range routes {
		for _, p := range r.Paths {
			k, err := pathKey(p, mode)
			if err != nil {
				continue
			}
			if k.pathOp == slotExact && k.path != string(q.Path) {
				continue
			}
			if k.pathOp == slotPrefix && !strings.HasPrefix(string(q.Path), k.path) {
				continue
			}
			base := placement{r: r, hostRank: 2, exact: k.pathOp == slotExact, keyLen: len(k.path), pathOrg: p, pattern: k.pattern}
			if mode != HostURI || len(r.Hosts) == 0 {
				ps = append(ps, base)
				continue
			}
			for _, h := range r.Hosts {
				pl := base
				switch {
				case h == host:
					pl.hostRank = 0
				case strings.HasPrefix(h, "*") && strings.HasSuffix(host, h[1:]):
					pl.hostRank, pl.hostLen = 1, len(h)-1
				default:
					continue
				}
				ps = append(ps, pl)
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		switch {
		case a.hostRank != b.hostRank:
			return a.hostRank < b.hostRank
		case a.hostLen != b.hostLen:
			return a.hostLen > b.hostLen
		case a.exact != b.exact:
			return a.exact
		case a.keyLen != b.keyLen:
			return a.keyLen > b.keyLen
		case a.r.Priority != b.r.Priority:
			return a.r.Priority > b.r.Priority
		case len(a.pathOrg) != len(b.pathOrg):
			return len(a.pathOrg) > len(b.pathOrg)
		}
		return a.r.Seq < b.r.Seq
	})
	for _, pl := range ps {
		e := (&Router[string]{mode: mode}).newEntry(pl.r, key{pathOrg: pl.pathOrg, pattern: pl.pattern})
		if e.matches(q) {
			return pl.r.ID, true
		}
	}
	return "", false
}

var (
	segs     = []string{"a", "b", "ab", "c"}
	hostsSet = []string{"x.com", "a.x.com", "b.a.x.com", "*.x.com", "*.a.x.com", "*x.com", "*", "y.org"}
	queryIPs = []string{"10.1.2.3", "192.168.0.9", "2001:db8::7"}
)

func randomPath(rng *rand.Rand, mode Mode, forRoute bool) string {
	var b strings.Builder
	n := 1 + rng.IntN(3)
	for i := 0; i < n; i++ {
		b.WriteByte('/')
		switch {
		case forRoute && mode == URIWithParameter && rng.IntN(5) == 0:
			b.WriteString(":p" + fmt.Sprint(i))
		case forRoute && i == n-1 && rng.IntN(6) == 0:
			b.WriteString("*rest")
			return b.String()
		default:
			b.WriteString(segs[rng.IntN(len(segs))])
		}
	}
	if rng.IntN(4) == 0 {
		b.WriteByte('/')
	}
	if forRoute && rng.IntN(3) == 0 {
		b.WriteByte('*')
	}
	return b.String()
}

func randomRoute(rng *rand.Rand, mode Mode, id string, seq int) *Route[string] {
	r := &Route[string]{ID: id, Seq: seq, Value: id, Priority: rng.IntN(3)}
	for i := 0; i < 1+rng.IntN(2); i++ {
		r.Paths = append(r.Paths, randomPath(rng, mode, true))
	}
	if rng.IntN(2) == 0 {
		for i := 0; i < 1+rng.IntN(2); i++ {
			r.Hosts = append(r.Hosts, hostsSet[rng.IntN(len(hostsSet))])
		}
	}
	if rng.IntN(3) == 0 {
		r.Methods = methodBits[[]string{"GET", "POST"}[rng.IntN(2)]]
	}
	if rng.IntN(5) == 0 {
		r.RemoteAddrs = []netip.Prefix{netip.MustParsePrefix([]string{"10.0.0.0/8", "2001:db8::/32"}[rng.IntN(2)])}
	}
	if rng.IntN(4) == 0 {
		rule, _ := json.Marshal([][]string{{"arg_k", "==", []string{"1", "2"}[rng.IntN(2)]}})
		r.Vars, _ = expr.Compile(rule)
	}
	return r
}

func randomQuery(rng *rand.Rand, mode Mode) *Query {
	args := []string{
		"path=" + randomPath(rng, mode, false),
		"host=" + strings.TrimPrefix(strings.TrimPrefix(hostsSet[rng.IntN(len(hostsSet))], "*."), "*"),
		"method=" + []string{"GET", "POST", "PUT"}[rng.IntN(3)],
		"remote=" + queryIPs[rng.IntN(len(queryIPs))],
	}
	if rng.IntN(2) == 0 {
		args = append(args, "arg_k="+[]string{"1", "2"}[rng.IntN(2)])
	}
	return testQuery(args)
}

func checkAgainstReference(t *testing.T, mode Mode, r *Router[string], routes []*Route[string], rng *rand.Rand, queries int) {
	t.Helper()
	for i := 0; i < queries; i++ {
		q := randomQuery(rng, mode)
		got, gotOK := r.Match(q)
		want, wantOK := referenceMatch(mode, routes, q)
		if got != want || gotOK != wantOK {
			var desc []string
			for _, rt := range routes {
				desc = append(desc, fmt.Sprintf("%s paths=%v hosts=%v prio=%d methods=%d seq=%d", rt.ID, rt.Paths, rt.Hosts, rt.Priority, rt.Methods, rt.Seq))
			}
			t.Fatalf("%s: path=%s host=%s: router %q %v, reference %q %v\nroutes:\n%s", mode, q.Path, q.Host, got, gotOK, want, wantOK, strings.Join(desc, "\n"))
		}
	}
}

// TestRouterMatchesReference builds random route sets and compares every
// answer with the reference.
func TestRouterMatchesReference(t *testing.T) {
	for _, mode := range []Mode{HostURI, URI, URIWithParameter} {
		rng := rand.New(rand.NewPCG(uint64(mode)+1, 7))
		for set := 0; set < 200; set++ {
			var routes []*Route[string]
			for i := 0; i < 1+rng.IntN(12); i++ {
				routes = append(routes, randomRoute(rng, mode, fmt.Sprintf("r%d", i), i))
			}
			r, err := New(mode, routes)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstReference(t, mode, r, routes, rng, 50)
		}
	}
}

// TestIncrementalUpdatesMatchReference applies random adds, changes and
// deletes one at a time, checking each new version against the reference
// and that an older version still answers as it did (nothing shared was
// mutated).
func TestIncrementalUpdatesMatchReference(t *testing.T) {
	for _, mode := range []Mode{HostURI, URI, URIWithParameter} {
		rng := rand.New(rand.NewPCG(uint64(mode)+11, 3))
		r, _ := New[string](mode, nil)
		live := map[string]*Route[string]{}
		nextSeq := 0
		current := func() []*Route[string] {
			var out []*Route[string]
			for _, rt := range live {
				out = append(out, rt)
			}
			sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
			return out
		}
		for step := 0; step < 400; step++ {
			var old, new *Route[string]
			id := fmt.Sprintf("r%d", rng.IntN(15))
			old = live[id]
			switch {
			case old == nil:
				new = randomRoute(rng, mode, id, nextSeq)
				nextSeq++
			case rng.IntN(3) == 0:
				// delete
			default:
				new = randomRoute(rng, mode, id, old.Seq) // a change keeps its load order
			}
			before := r
			snapshotRoutes := current()
			probe := rng.Uint64()
			next, err := r.Update(old, new)
			if err != nil {
				t.Fatal(err)
			}
			if new == nil {
				delete(live, id)
			} else {
				live[id] = new
			}
			r = next
			if r.Len() != len(live) {
				t.Fatalf("Len %d, want %d", r.Len(), len(live))
			}
			checkAgainstReference(t, mode, r, current(), rng, 20)
			// The previous version is unchanged.
			checkAgainstReference(t, mode, before, snapshotRoutes, rand.New(rand.NewPCG(probe, 1)), 10)
		}
	}
}

package trie

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sluicegw/sluice/expr"
)

// shape is one kind of route set: how routes and matching queries look.
type shape struct {
	name  string
	mode  Mode
	route func(i, svc int) *Route[string]
	query func(i, svc int) *Query
}

// oneArg is an allocation-free Vars answering arg_v=1.
type oneArg struct{}

var one = []byte("1")

func (oneArg) Value(v *expr.Var) ([]byte, bool) {
	if v.Kind == expr.VarArg && v.Name == "v" {
		return one, true
	}
	return nil, false
}

var varsRule = mustCompile(`[["arg_v", "==", "1"], ["arg_w", "==", null]]`)

func mustCompile(s string) *expr.Expr {
	e, err := expr.Compile(json.RawMessage(s))
	if err != nil {
		panic(err)
	}
	return e
}

func basicQuery(path string) *Query {
	return &Query{Path: []byte(path), Method: methodBits["GET"], RemoteAddr: netip.MustParseAddr("10.0.0.1"), Vars: oneArg{}}
}

var shapes = []shape{
	{"exact", URI,
		func(i, s int) *Route[string] {
			return &Route[string]{Paths: []string{fmt.Sprintf("/svc%d/api/v1/res%d", s, i)}}
		},
		func(i, s int) *Query { return basicQuery(fmt.Sprintf("/svc%d/api/v1/res%d", s, i)) }},
	{"prefix", URI,
		func(i, s int) *Route[string] {
			return &Route[string]{Paths: []string{fmt.Sprintf("/svc%d/api/v1/res%d/*", s, i)}}
		},
		func(i, s int) *Query { return basicQuery(fmt.Sprintf("/svc%d/api/v1/res%d/item/42", s, i)) }},
	{"host+prefix", HostURI,
		func(i, s int) *Route[string] {
			return &Route[string]{Paths: []string{fmt.Sprintf("/api/v1/res%d/*", i)}, Hosts: []string{fmt.Sprintf("h%d.example.com", s)}}
		},
		func(i, s int) *Query {
			q := basicQuery(fmt.Sprintf("/api/v1/res%d/item/42", i))
			q.Host = []byte(fmt.Sprintf("h%d.example.com", s))
			q.HostRev = []byte(reverse(string(q.Host)))
			return q
		}},
	{"param", URIWithParameter,
		func(i, s int) *Route[string] {
			return &Route[string]{Paths: []string{fmt.Sprintf("/svc%d/api/v1/res%d/:id/detail", s, i)}}
		},
		func(i, s int) *Query { return basicQuery(fmt.Sprintf("/svc%d/api/v1/res%d/42/detail", s, i)) }},
	{"vars", URI,
		func(i, s int) *Route[string] {
			return &Route[string]{Paths: []string{fmt.Sprintf("/svc%d/api/v1/res%d", s, i)}, Vars: varsRule}
		},
		func(i, s int) *Query { return basicQuery(fmt.Sprintf("/svc%d/api/v1/res%d", s, i)) }},
}

// routeSet builds n routes of a shape, about 100 per service.
func routeSet(sh shape, n int) []*Route[string] {
	routes := make([]*Route[string], n)
	svcs := max(1, n/100)
	for i := range routes {
		r := sh.route(i, i%svcs)
		r.ID, r.Seq, r.Value = strconv.Itoa(i), i, strconv.Itoa(i)
		routes[i] = r
	}
	return routes
}

// querySet is one query for every route of a set of n, in random order:
// lookups walk the whole table, so the working set is every route (issue
// 13), not a few thousand that end up in cache. The byte inputs are packed
// into one arena, read in sequence as the engine reads its hot read
// buffer: the benchmark measures the router's memory, not its own.
type querySet struct {
	arena []byte
	qs    []packedQuery
	want  []string
	vars  Query // the fields every query shares (method, address, vars)
}

type packedQuery struct {
	off        uint32
	path, host uint16 // lengths; the reversed host follows the host
}

func newQuerySet(sh shape, n int) *querySet {
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	svcs := max(1, n/100)
	s := &querySet{arena: make([]byte, 0, 64*n), qs: make([]packedQuery, 0, n), want: make([]string, 0, n)}
	for _, i := range rng.Perm(n) {
		q := sh.query(i, i%svcs)
		s.qs = append(s.qs, packedQuery{off: uint32(len(s.arena)), path: uint16(len(q.Path)), host: uint16(len(q.Host))})
		s.arena = append(s.arena, q.Path...)
		s.arena = append(s.arena, q.Host...)
		s.arena = append(s.arena, q.HostRev...)
		s.want = append(s.want, strconv.Itoa(i))
		s.vars = *q
	}
	s.vars.Path, s.vars.Host, s.vars.HostRev = nil, nil, nil
	return s
}

// load points q's inputs at query i.
func (s *querySet) load(q *Query, i int) {
	p := s.qs[i]
	a := s.arena[p.off:]
	q.Path = a[:p.path:p.path]
	a = a[p.path:]
	q.Host = a[:p.host:p.host]
	q.HostRev = a[p.host : 2*p.host : 2*p.host]
}

var sizes = []int{1, 1_000, 10_000, 100_000}

func BenchmarkMatch(b *testing.B) { benchmarkMatch(b, shapes, sizes) }

// BenchmarkMatchLarge is BenchmarkMatch at 1M routes, apart because each
// set takes seconds to build.
func BenchmarkMatchLarge(b *testing.B) {
	benchmarkMatch(b, shapes[:4], []int{1_000_000})
}

func benchmarkMatch(b *testing.B, shapes []shape, sizes []int) {
	for _, sh := range shapes {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				r, err := New(sh.mode, routeSet(sh, n))
				if err != nil {
					b.Fatal(err)
				}
				qs := newQuerySet(sh, n)
				q := qs.vars           // one reused Query, as the engine's per-loop one
				for j := range qs.qs { // every query must hit its route
					qs.load(&q, j)
					if got, _ := r.Match(&q); got != qs.want[j] {
						b.Fatalf("query %s matched %q, want %q", q.Path, got, qs.want[j])
					}
				}
				runtime.GC() // earlier sub-benchmarks' routers are garbage now
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					qs.load(&q, i)
					r.Match(&q)
					if i++; i == len(qs.qs) {
						i = 0
					}
				}
			})
		}
	}
}

// BenchmarkBuild builds a router from scratch and reports its heap size per
// route.
func BenchmarkBuild(b *testing.B) {
	for _, sh := range shapes {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				routes := routeSet(sh, n)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := New(sh.mode, routes); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(heapOf(func() any { r, _ := New(sh.mode, routes); return r }))/float64(n), "heap-B/route")
			})
		}
	}
}

// heapOf returns the live heap a value built by f holds.
func heapOf(f func() any) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return after.HeapAlloc - before.HeapAlloc
}

// BenchmarkUpdate changes one route of a loaded router and publishes the
// next version (the atomic store the sync package does): add, change and
// delete in turn.
func BenchmarkUpdate(b *testing.B) {
	for _, sh := range shapes {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				routes := routeSet(sh, n)
				r, err := New(sh.mode, routes)
				if err != nil {
					b.Fatal(err)
				}
				var published atomic.Pointer[Router[string]]
				svcs := max(1, n/100)
				extra := sh.route(n, 0)
				extra.ID, extra.Seq, extra.Value = "extra", n, "extra"
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					var next *Router[string]
					switch i % 3 {
					case 0: // add
						next, err = r.Update(nil, extra)
					case 1: // change: the route moves to another path, keeping its order
						moved := *extra
						moved.Paths = sh.route(n+1, 1%svcs).Paths
						next, err = r.Update(extra, &moved)
						extra = &moved
					case 2: // delete
						next, err = r.Update(extra, nil)
						extra = sh.route(n, 0)
						extra.ID, extra.Seq, extra.Value = "extra", n, "extra"
					}
					if err != nil {
						b.Fatal(err)
					}
					published.Store(next)
					r = next
					i++
				}
			})
		}
	}
}

// BenchmarkBuildLarge is the build of the 1M-route first load (issue 13),
// in its shape (bench/propagation: "/svc<i%100>/api/v1/res<i>", GET) and
// the way sync calls it: one Route rewritten for each route yielded.
func BenchmarkBuildLarge(b *testing.B) {
	const n = 1_000_000
	paths := make([][]string, n)
	for i := range paths {
		paths[i] = []string{fmt.Sprintf("/svc%d/api/v1/res%d", i%100, i)}
	}
	build := func() *Router[int] {
		r, err := Build(URI, func(yield func(*Route[int]) bool) {
			var rt Route[int]
			for i, p := range paths {
				rt = Route[int]{Paths: p, Methods: methodBits["GET"], Seq: i, Value: i}
				if !yield(&rt) {
					return
				}
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
	runtime.GC()
	b.ReportAllocs()
	for b.Loop() {
		build()
	}
	b.ReportMetric(float64(heapOf(func() any { return build() }))/n, "heap-B/route")
}

// BenchmarkUpdateLarge changes one route of the 1M-route load, as
// BenchmarkUpdate does: add, change and delete in turn.
func BenchmarkUpdateLarge(b *testing.B) {
	const n = 1_000_000
	routes := make([]*Route[int], n)
	for i := range routes {
		routes[i] = &Route[int]{Paths: []string{fmt.Sprintf("/svc%d/api/v1/res%d", i%100, i)}, Methods: methodBits["GET"], Seq: i, Value: i}
	}
	r, err := New(URI, routes)
	if err != nil {
		b.Fatal(err)
	}
	routes = nil
	runtime.GC()
	add := &Route[int]{Paths: []string{"/svc0/api/v1/extra"}, Methods: methodBits["GET"], Seq: n, Value: n}
	moved := *add
	moved.Paths = []string{"/svc1/api/v1/extra"}
	var published atomic.Pointer[Router[int]]
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var next *Router[int]
		switch i % 3 {
		case 0:
			next, err = r.Update(nil, add)
		case 1:
			next, err = r.Update(add, &moved)
		case 2:
			next, err = r.Update(&moved, nil)
		}
		if err != nil {
			b.Fatal(err)
		}
		published.Store(next)
		r = next
		i++
	}
}

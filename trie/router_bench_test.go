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

// querySet returns 4096 queries for random routes of the set. Their byte
// inputs are packed into one arena, as the engine's come from one hot read
// buffer: the benchmark measures the router's memory, not the test's.
func querySet(sh shape, n int) ([]*Query, []string) {
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	svcs := max(1, n/100)
	qs := make([]*Query, 4096)
	want := make([]string, len(qs))
	arena := make([]byte, 0, 256*len(qs))
	pack := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		arena = append(arena, b...)
		return arena[len(arena)-len(b) : len(arena) : len(arena)]
	}
	for j := range qs {
		i := rng.IntN(n)
		q := sh.query(i, i%svcs)
		q.Path, q.Host, q.HostRev = pack(q.Path), pack(q.Host), pack(q.HostRev)
		qs[j] = q
		want[j] = strconv.Itoa(i)
	}
	return qs, want
}

var sizes = []int{1, 1_000, 10_000, 100_000}

func BenchmarkMatch(b *testing.B) {
	for _, sh := range shapes {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("%s/%d", sh.name, n), func(b *testing.B) {
				r, err := New(sh.mode, routeSet(sh, n))
				if err != nil {
					b.Fatal(err)
				}
				qs, want := querySet(sh, n)
				for j, q := range qs { // every query must hit its route
					if got, _ := r.Match(q); got != want[j] {
						b.Fatalf("query %s matched %q, want %q", q.Path, got, want[j])
					}
				}
				// One reused Query, as the engine's per-loop one: the
				// inputs vary, the struct the router writes captures into
				// stays hot.
				q := *qs[0]
				runtime.GC() // earlier sub-benchmarks' routers are garbage now
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					in := qs[i&4095]
					q.Path, q.Host, q.HostRev = in.Path, in.Host, in.HostRev
					r.Match(&q)
					i++
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

package router

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"testing"

	"github.com/julienschmidt/httprouter"

	"github.com/sluicegw/sluice/internal/httpmethod"
	"github.com/sluicegw/sluice/trie"
)

// A set is n routes in one of three shapes, about 100 per service, written
// for both routers, and one request path for every route, in random order.
// Lookups walk that whole list, so the working set is the whole table, as
// on an edge whose traffic is spread over its routes (issue 13), not a few
// thousand paths that end up in cache.
type set struct {
	sluice []*trie.Route[string]
	httpr  []string // httprouter paths
	// The request paths, in lookup order, packed into one arena (the
	// engine's come from one hot read buffer; here they are read in
	// sequence, which the prefetcher hides): the benchmark measures the
	// routers' memory, not its own.
	arena string
	spans []span
	mode  trie.Mode
}

type span struct{ off, n uint32 }

func (s *set) path(i int) string {
	sp := s.spans[i]
	return s.arena[sp.off : sp.off+sp.n]
}

func makeSet(shape string, n int) *set {
	s := &set{}
	svcs := max(1, n/100)
	for i := 0; i < n; i++ {
		base := fmt.Sprintf("/svc%d/api/v1/res%d", i%svcs, i)
		var sl, hr string
		switch shape {
		case "exact":
			sl, hr, s.mode = base, base, trie.URI
		case "prefix":
			sl, hr, s.mode = base+"/*", base+"/*rest", trie.URI
		case "param":
			sl, hr, s.mode = base+"/:id/detail", base+"/:id/detail", trie.URIWithParameter
		}
		s.sluice = append(s.sluice, &trie.Route[string]{ID: strconv.Itoa(i), Paths: []string{sl}, Seq: i, Value: strconv.Itoa(i)})
		s.httpr = append(s.httpr, hr)
	}
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	arena := make([]byte, 0, 40*n)
	for _, i := range rng.Perm(n) {
		p := fmt.Sprintf("/svc%d/api/v1/res%d", i%svcs, i)
		switch shape {
		case "prefix":
			p += "/item/42"
		case "param":
			p += "/42/detail"
		}
		s.spans = append(s.spans, span{uint32(len(arena)), uint32(len(p))})
		arena = append(arena, p...)
	}
	s.arena = string(arena)
	return s
}

func noop(http.ResponseWriter, *http.Request, httprouter.Params) {}

// BenchmarkCompare interleaves the two routers: with -count, each round
// runs both, so machine noise hits them alike. Every lookup asks for a
// different route until the whole table has been asked for.
func BenchmarkCompare(b *testing.B) {
	for _, shape := range []string{"exact", "prefix", "param"} {
		for _, n := range []int{10_000, 100_000} {
			s := makeSet(shape, n)
			b.Run(fmt.Sprintf("%s/%d/router=sluice", shape, n), func(b *testing.B) {
				r, err := trie.New(s.mode, s.sluice)
				if err != nil {
					b.Fatal(err)
				}
				q := &trie.Query{Method: httpmethod.Get.Bit(), RemoteAddr: netip.MustParseAddr("10.0.0.1")}
				arena := []byte(s.arena)
				for i := range s.spans {
					sp := s.spans[i]
					q.Path = arena[sp.off : sp.off+sp.n]
					if _, ok := r.Match(q); !ok {
						b.Fatalf("no match for %s", q.Path)
					}
				}
				runtime.GC()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					sp := s.spans[i]
					q.Path = arena[sp.off : sp.off+sp.n]
					r.Match(q)
					if i++; i == len(s.spans) {
						i = 0
					}
				}
			})
			b.Run(fmt.Sprintf("%s/%d/router=httprouter", shape, n), func(b *testing.B) {
				r := httprouter.New()
				for _, p := range s.httpr {
					r.GET(p, noop)
				}
				for i := range s.spans {
					if h, _, _ := r.Lookup("GET", s.path(i)); h == nil {
						b.Fatalf("no match for %s", s.path(i))
					}
				}
				runtime.GC()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r.Lookup("GET", s.path(i))
					if i++; i == len(s.spans) {
						i = 0
					}
				}
			})
		}
	}
}

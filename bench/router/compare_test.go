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

	"github.com/sluicegw/sluice/trie"
)

// A set is n routes in one of three shapes, about 100 per service, written
// for both routers, and 4096 request paths for random routes of it.
type set struct {
	sluice  []*trie.Route[string]
	httpr   []string // httprouter paths
	queries [][]byte // packed in one arena, as the engine's read buffer
	mode    trie.Mode
}

func makeSet(shape string, n int) set {
	var s set
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
	arena := make([]byte, 0, 64*4096)
	for j := 0; j < 4096; j++ {
		i := rng.IntN(n)
		p := fmt.Sprintf("/svc%d/api/v1/res%d", i%svcs, i)
		switch shape {
		case "prefix":
			p += "/item/42"
		case "param":
			p += "/42/detail"
		}
		arena = append(arena, p...)
		s.queries = append(s.queries, arena[len(arena)-len(p):len(arena):len(arena)])
	}
	return s
}

func noop(http.ResponseWriter, *http.Request, httprouter.Params) {}

// BenchmarkCompare interleaves the two routers: with -count, each round
// runs both, so machine noise hits them alike.
func BenchmarkCompare(b *testing.B) {
	for _, shape := range []string{"exact", "prefix", "param"} {
		for _, n := range []int{10_000, 100_000} {
			s := makeSet(shape, n)
			b.Run(fmt.Sprintf("%s/%d/sluice", shape, n), func(b *testing.B) {
				r, err := trie.New(s.mode, s.sluice)
				if err != nil {
					b.Fatal(err)
				}
				q := &trie.Query{Method: 1 << 1, RemoteAddr: netip.MustParseAddr("10.0.0.1")}
				for _, p := range s.queries {
					q.Path = p
					if _, ok := r.Match(q); !ok {
						b.Fatalf("no match for %s", p)
					}
				}
				runtime.GC()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					q.Path = s.queries[i&4095]
					r.Match(q)
					i++
				}
			})
			b.Run(fmt.Sprintf("%s/%d/httprouter", shape, n), func(b *testing.B) {
				r := httprouter.New()
				for _, p := range s.httpr {
					r.GET(p, noop)
				}
				paths := make([]string, len(s.queries))
				for i, p := range s.queries {
					paths[i] = string(p)
					if h, _, _ := r.Lookup("GET", paths[i]); h == nil {
						b.Fatalf("no match for %s", p)
					}
				}
				runtime.GC()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					r.Lookup("GET", paths[i&4095])
					i++
				}
			})
		}
	}
}

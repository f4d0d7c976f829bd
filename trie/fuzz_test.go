package trie

import (
	"math/rand/v2"
	"testing"
)

// FuzzRouter: random route paths (fuzzed) in every mode never break the
// router, and every answer agrees with the reference.
func FuzzRouter(f *testing.F) {
	for _, s := range []string{"/a/b", "/a/*", "/a/:id/c", "/x/*rest", "/:a/*b/c/", "*", "/a*b", "/"} {
		f.Add(s, "/a/b/c", uint64(1))
	}
	f.Fuzz(func(t *testing.T, path, query string, seed uint64) {
		if len(path) == 0 || len(query) == 0 || query[0] != '/' {
			return
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		for _, mode := range []Mode{HostURI, URI, URIWithParameter} {
			routes := []*Route[string]{randomRoute(rng, mode, "r0", 0), {ID: "fuzzed", Paths: []string{path}, Seq: 1, Value: "fuzzed"}, randomRoute(rng, mode, "r2", 2)}
			if mode.CheckPaths(path) != nil {
				continue
			}
			r, err := New(mode, routes)
			if err != nil {
				t.Fatalf("CheckPaths accepted %q but New failed: %v", path, err)
			}
			q := testQuery([]string{"path=" + query, "host=x.com"})
			got, ok := r.Match(q)
			want, wantOK := referenceMatch(mode, routes, q)
			if got != want || ok != wantOK {
				t.Fatalf("%s route %q query %q: router %q %v, reference %q %v", mode, path, query, got, ok, want, wantOK)
			}
			if _, err := r.Update(routes[1], nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}

//go:build !race

package trie

import "testing"

// Matching allocates nothing, at 100K routes, in every shape (STYLE rule 15).
func TestMatchAllocatesNothing(t *testing.T) {
	for _, sh := range shapes {
		r, err := New(sh.mode, routeSet(sh, 100_000))
		if err != nil {
			t.Fatal(err)
		}
		qs := newQuerySet(sh, 100_000)
		q := qs.vars
		i := 0
		if n := testing.AllocsPerRun(1000, func() {
			qs.load(&q, i)
			if _, ok := r.Match(&q); !ok {
				t.Fatal("no match")
			}
			i++
		}); n != 0 {
			t.Fatalf("%s: %v allocations per match", sh.name, n)
		}
	}
}

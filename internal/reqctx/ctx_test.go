package reqctx

import (
	"testing"
	"time"

	"github.com/sluicegw/sluice/trie"
)

// TestSetURIKeepsTheRoutedPath: a rewritten $uri does not overwrite the
// path the request was routed on, which Query.Path, the parameter
// captures and Matched read in later phases; the next request on the
// context starts from its own path again.
func TestSetURIKeepsTheRoutedPath(t *testing.T) {
	rt := &trie.Route[int]{ID: "1", Paths: []string{"/u/:id"}, Value: 1}
	r, err := trie.New(trie.URIWithParameter, []*trie.Route[int]{rt})
	if err != nil {
		t.Fatal(err)
	}
	var c Ctx
	for _, path := range []string{"/u/first", "/u/2"} {
		c.Reset()
		c.Begin([]byte(path), []byte("h"), time.Now())
		c.Query.Path = c.URI()
		if _, ok := r.Match(&c.Query); !ok {
			t.Fatalf("%s: no match", path)
		}
		c.SetURI([]byte("/rewritten/to/something/longer"))
		if id, _ := c.Query.Params.Get("id"); string(c.Query.Path) != path || string(id) != path[3:] {
			t.Fatalf("after SetURI the routed path reads %q, id %q; want %q, %q", c.Query.Path, id, path, path[3:])
		}
		if string(c.URI()) != "/rewritten/to/something/longer" {
			t.Fatalf("$uri = %q", c.URI())
		}
	}
}

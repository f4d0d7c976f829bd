package sync

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/trie"
)

// A reload of apisix.yaml decodes and compiles only the objects whose JSON
// or place in the file changed; what it serves is what loading the new
// file from nothing serves (the TestIncrementalMatchesRebuild pattern).
func TestYAMLReloadOnlyDecodesChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "apisix.yaml")
	write := func(routes []string) {
		t.Helper()
		var sb strings.Builder
		sb.WriteString(`{"upstreams": [{"id": "u0", "nodes": {"10.0.0.1:80": 1}}, {"id": "u1", "nodes": {"10.0.0.2:80": 1}}], "routes": [`)
		sb.WriteString(strings.Join(routes, ",\n"))
		sb.WriteString("]}\n#END\n")
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	route := func(id string, p, prio, up int) string {
		return fmt.Sprintf(`{"id": %q, "uri": "/p%d*", "priority": %d, "upstream_id": "u%d"}`, id, p, prio, up)
	}

	rng := rand.New(rand.NewPCG(3, 4))
	type fileRoute struct{ id, js string }
	var routes []fileRoute
	add := func(id string) fileRoute {
		return fileRoute{id, route(id, rng.IntN(6), rng.IntN(2), rng.IntN(2))}
	}
	for i := range 30 {
		routes = append(routes, add(fmt.Sprint("r", i)))
	}
	save := func() {
		js := make([]string, len(routes))
		for i, r := range routes {
			js[i] = r.js
		}
		write(js)
	}
	save()
	y := &YAMLSource{Path: path, Store: NewStore(), Builder: &Builder{Mode: trie.URI}}
	if err := y.Load(); err != nil {
		t.Fatal(err)
	}
	for step := range 40 {
		old := map[string]int{} // id → place in the file
		for i, r := range routes {
			old[r.id] = i
		}
		oldJS := map[string]string{}
		for _, r := range routes {
			oldJS[r.id] = r.js
		}
		switch i := rng.IntN(len(routes)); rng.IntN(4) {
		case 0: // one route edited in place
			routes[i].js = route(routes[i].id, rng.IntN(6), rng.IntN(2), rng.IntN(2))
		case 1: // two routes swap places: the same JSON, a new file order
			j := rng.IntN(len(routes))
			routes[i], routes[j] = routes[j], routes[i]
		case 2: // one route dropped, one appended
			routes = append(append(routes[:i:i], routes[i+1:]...), add(fmt.Sprint("n", step)))
		default: // the file written again unchanged
		}
		before := y.Store.Load()
		save()
		if err := y.Load(); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		got := y.Store.Load()

		changes := mustParse(t, string(must(os.ReadFile(path))))
		want, problems := (&Builder{Mode: trie.URI}).Apply(1, changes, true)
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		for p := range 6 {
			path := fmt.Sprintf("/p%d/x", p)
			if g, w := describe(got, match(got, path)), describe(want, match(want, path)); g != w {
				t.Fatalf("step %d %s: reload serves %s, a fresh load %s", step, path, g, w)
			}
		}
		// A route with the same JSON in the same place keeps its stored
		// item (it was not decoded again); any other has a new one.
		for i, r := range routes {
			was, ok := old[r.id]
			same := ok && was == i && oldJS[r.id] == r.js
			if kept := got.Item(config.Routes, r.id) == before.Item(config.Routes, r.id); kept != same {
				t.Fatalf("step %d: route %s (place %d, was %d, same JSON %v): item kept %v", step, r.id, i, was, oldJS[r.id] == r.js, kept)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

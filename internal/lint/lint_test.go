package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/sluicegw/sluice"

// allowed is DESIGN.md's import table: which of our packages each package
// may import (internal/* may be imported by all; an internal package with a
// row is held to it). Rows beyond DESIGN.md's table say why where they are.
var allowed = map[string][]string{
	"cmd/sluice": {"*"},
	// engine reads sync's Snapshot and Store (the RCU store lives in sync
	// and the engine is its reader), supplies expr variables, and reports
	// attempt outcomes to health checkers.
	"engine":    {"http1", "trie", "expr", "plugin", "lua", "balancer", "balancer/health", "config", "sync"},
	"http1":     {},
	"trie":      {"expr"},
	"expr":      {},
	"config":    {"expr"},
	"localconf": {"config"}, // config.yaml (issue 7, item 8): the keyring it configures
	"embedetcd": {},         // the in-process etcd server (issue 7, item 8)
	// sync compiles plugin chains, pickers and health checkers into
	// snapshots, as DESIGN.md's data flow says, with host names and
	// dns-discovered services resolved (discovery).
	"sync":            {"config", "trie", "expr", "plugin", "balancer", "balancer/health", "discovery"},
	"discovery":       {}, // host-name nodes and discovery_type dns (issue 10), off the loops
	"plugin":          {"expr", "lua", "config"},
	"plugin/*":        {"plugin", "plugin/*", "expr", "lua", "config"}, // one package per built-in plugin, listed by plugin/all
	"lua":             {},
	"balancer":        {"config"},
	"balancer/health": {"config", "balancer"}, // DESIGN.md's "health checks" under balancer
	"admin":           {"config", "sync", "balancer/health"},
	"e2e":             {},
	"bench":           {"*"},
	// The request context reads parsed requests and routing queries and
	// serves expr variables.
	"internal/reqctx": {"http1", "expr", "trie"},
	// Shared by the transformation plugins: APISIX's $var templates, and
	// ngx.re on RE2; plugintest is every plugin's test support, driving it
	// through the registry.
	"internal/vartmpl":    {"expr"},
	"internal/ngxre":      {},
	"internal/plugintest": {"plugin", "config", "http1"},
	// nginx's access_log (not a plugin): renders request variables; the
	// engine calls it through an interface of its own, cmd/sluice builds it.
	"accesslog": {"expr"},
	// The limit plugins' keys, counters and Redis clients.
	"internal/ratelimit": {"expr"},
	// The limit plugins' local stores (nginx's shared dicts).
	"internal/shdict": {},
	// lua-cjson's encoding of plugins' exit bodies.
	"internal/cjson": {},
}

// forbiddenNames are dumping-ground package names (STYLE anti-patterns).
var forbiddenNames = []string{"util", "utils", "common", "helpers", "misc", "base"}

type pkgFiles struct {
	dir   string // relative to the module root
	files map[string]*ast.File
	tests map[string]*ast.File
}

func moduleRoot(t *testing.T) string {
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s", dir)
	}
	return dir
}

// packages parses every Go package of the module except third_party.
func packages(t *testing.T) []*pkgFiles {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	byDir := map[string]*pkgFiles{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "third_party" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		dir := filepath.Dir(rel)
		p := byDir[dir]
		if p == nil {
			p = &pkgFiles{dir: dir, files: map[string]*ast.File{}, tests: map[string]*ast.File{}}
			byDir[dir] = p
		}
		if strings.HasSuffix(path, "_test.go") {
			p.tests[filepath.Base(path)] = f
		} else {
			p.files[filepath.Base(path)] = f
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []*pkgFiles
	for _, p := range byDir {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].dir < out[j].dir })
	return out
}

func TestImportTable(t *testing.T) {
	for _, p := range packages(t) {
		rule, known := allowed[p.dir]
		if strings.HasPrefix(p.dir, "bench/") {
			rule, known = allowed["bench"] // harnesses may import anything
		}
		if strings.HasPrefix(p.dir, "plugin/") && !known {
			rule, known = allowed["plugin/*"]
		}
		if !known && !strings.HasPrefix(p.dir, "internal/") {
			t.Errorf("%s: package not in the import table (add it to DESIGN.md and here)", p.dir)
			continue
		}
		for name, f := range p.files {
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				ours, ok := strings.CutPrefix(path, module+"/")
				if !ok || strings.HasPrefix(ours, "internal/") {
					continue
				}
				if !permitted(rule, ours) {
					t.Errorf("%s/%s imports %s, outside its row of the import table", p.dir, name, ours)
				}
			}
		}
	}
}

func permitted(rule []string, pkg string) bool {
	for _, r := range rule {
		if r == "*" || r == pkg || (strings.HasSuffix(r, "/*") && strings.HasPrefix(pkg, strings.TrimSuffix(r, "*"))) {
			return true
		}
	}
	return false
}

func TestEveryPackageHasDocGo(t *testing.T) {
	for _, p := range packages(t) {
		if len(p.files) == 0 {
			continue // test-only directory
		}
		if _, ok := p.files["doc.go"]; !ok && p.dir != "cmd/sluice" {
			t.Errorf("%s has no doc.go saying what it owns", p.dir)
		}
	}
}

func TestForbiddenPatterns(t *testing.T) {
	for _, p := range packages(t) {
		for _, bad := range forbiddenNames {
			if filepath.Base(p.dir) == bad {
				t.Errorf("%s: package name %q is a dumping ground", p.dir, bad)
			}
		}
		for name, f := range p.files {
			where := p.dir + "/" + name
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fn := call.Fun.(type) {
				case *ast.Ident:
					if fn.Name == "panic" {
						t.Errorf("%s: panic in non-test code (STYLE rule 11)", where)
					}
				case *ast.SelectorExpr:
					pkg, _ := fn.X.(*ast.Ident)
					if pkg == nil {
						return true
					}
					switch {
					case pkg.Name == "fmt" && fn.Sel.Name == "Errorf":
						checkErrorf(t, where, call)
					case pkg.Name == "log" && imports(f, "log"):
						t.Errorf("%s: stdlib log; inject a *slog.Logger (STYLE rule 25)", where)
					}
				}
				return true
			})
		}
	}
}

// checkErrorf flags fmt.Errorf that formats an error without %w (a lost
// error chain): an argument that is, or is computed from, a variable named
// err or ...Err, as in fmt.Errorf("%s", config.Message(err)) or
// fmt.Errorf("%v", err.Error()). An error may appear with %v only beside a
// %w marker.
func checkErrorf(t *testing.T, where string, call *ast.CallExpr) {
	if len(call.Args) == 0 {
		return
	}
	lit, ok := call.Args[0].(*ast.BasicLit)
	if !ok {
		return
	}
	format, _ := strconv.Unquote(lit.Value)
	if strings.Contains(format, "%w") {
		return
	}
	for _, a := range call.Args[1:] {
		if mentionsErr(a) {
			t.Errorf("%s: fmt.Errorf(%q, ...) formats an error without %%w", where, format)
		}
	}
}

// mentionsErr reports whether expression e uses a variable named err or
// ...Err (a field such as r.Err included).
func mentionsErr(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && (id.Name == "err" || strings.HasSuffix(id.Name, "Err")) {
			found = true
		}
		return !found
	})
	return found
}

func imports(f *ast.File, path string) bool {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			return true
		}
	}
	return false
}

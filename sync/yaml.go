package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sluicegw/sluice/config"
)

// DefaultYAMLPollInterval is how often the file's modification time is
// checked, as APISIX does.
const DefaultYAMLPollInterval = time.Second

// YAMLSource keeps a Store in step with a standalone apisix.yaml file
// (deployment.role data_plane, config_provider yaml). The file is reloaded
// whole when its modification time or size changes; a broken file (bad YAML,
// missing #END marker, any invalid object) is rejected whole and the
// previous snapshot keeps serving.
type YAMLSource struct {
	Path    string
	Store   *Store
	Builder *Builder
	// Interval between checks; zero means DefaultYAMLPollInterval.
	Interval time.Duration
	Events   Events
	// Logger receives one line per reload or rejection; nil discards.
	Logger *slog.Logger

	version     int64
	modTime     time.Time
	size        int64
	rebuild     rebuilder
	rebuildOnce stdsync.Once
}

// Load reads and applies the file once. Use it at start-up: a broken file
// there is an error to stop on, not something to keep serving around.
func (y *YAMLSource) Load() error {
	fi, err := os.Stat(y.Path)
	if err != nil {
		return fmt.Errorf("sync: reading %s: %w", y.Path, err)
	}
	return y.load(fi)
}

func (y *YAMLSource) load(fi os.FileInfo) error {
	y.modTime, y.size = fi.ModTime(), fi.Size()
	data, err := os.ReadFile(y.Path)
	if err != nil {
		return fmt.Errorf("sync: reading %s: %w", y.Path, err)
	}
	var prev func(*config.Kind, string) *Item
	if y.Builder.st == nil { // the first load (loadgc.go)
		gc := startLoadGC()
		defer gc.done()
		y.Builder.progress = gc.progress
		defer func() { y.Builder.progress = nil }()
	} else {
		prev = y.Builder.storedItem
	}
	changes, err := parseYAML(y.Builder.Pipeline, data, slim, prev)
	if err != nil {
		return fmt.Errorf("sync: %s: %w", y.Path, err)
	}
	y.version++
	start := time.Now()
	snap, problems := y.Builder.Apply(y.version, changes, true)
	for _, err := range problems {
		y.logger().Error("config problem", "file", y.Path, "err", err)
		if y.Events.Problem != nil {
			y.Events.Problem(err)
		}
	}
	y.Store.Publish(snap)
	y.logger().Info("config loaded", "file", y.Path, "version", snap.Version,
		"objects", len(changes), "routes", snap.Routes(), "took", time.Since(start))
	if y.Events.Published != nil {
		y.Events.Published(snap)
	}
	return nil
}

// Rebuild recompiles the whole configuration on the source's goroutine and
// publishes it (plugins reload); it returns once the new snapshot serves,
// or ctx ends.
func (y *YAMLSource) Rebuild(ctx context.Context) error { return y.rebuilds().ask(ctx) }

func (y *YAMLSource) rebuilds() *rebuilder {
	y.rebuildOnce.Do(func() { y.rebuild.reqs = make(chan chan error) })
	return &y.rebuild
}

// Run polls the file until ctx ends. Reload errors are reported (log line
// and Events.Rejected) and never stop the loop.
func (y *YAMLSource) Run(ctx context.Context) {
	interval := y.Interval
	if interval <= 0 {
		interval = DefaultYAMLPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case done := <-y.rebuilds().ch():
			y.rebuild.serve(done, y.Builder, y.version, y.Store.Publish, func(errs []error) {
				for _, err := range errs {
					y.logger().Error("config problem", "err", err)
				}
			})
			continue
		case <-y.Builder.DNSChanges():
			snap, problems := y.Builder.RefreshDNS(y.version)
			for _, err := range problems {
				y.logger().Error("config problem", "err", err)
			}
			if snap != nil {
				y.Store.Publish(snap)
			}
			continue
		case <-t.C:
		}
		fi, err := os.Stat(y.Path)
		if err != nil {
			y.reject(fmt.Errorf("sync: reading %s: %w", y.Path, err))
			continue
		}
		if fi.ModTime().Equal(y.modTime) && fi.Size() == y.size {
			continue
		}
		if err := y.load(fi); err != nil {
			y.reject(err)
		}
	}
}

func (y *YAMLSource) reject(err error) {
	y.logger().Error("config rejected, previous config keeps serving", "err", err)
	if y.Events.Rejected != nil {
		y.Events.Rejected(err)
	}
}

func (y *YAMLSource) logger() *slog.Logger {
	if y.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return y.Logger
}

// ErrMissingEndMarker: APISIX only loads an apisix.yaml whose last line is
// "#END", so a half-written file is never applied.
var ErrMissingEndMarker = errors.New("missing valid end flag #END")

// ParseYAML is ParseYAMLWith config's default pipeline: no keyring (secrets
// are read as stored) and no plugins.
func ParseYAML(data []byte) ([]Change, error) { return ParseYAMLWith(nil, data) }

// ParseYAMLWith decodes a standalone apisix.yaml: the #END marker, ${{VAR}}
// environment substitution, then every object through p's Load, as the
// etcd source decodes what it reads, all-or-nothing: the first object p
// refuses refuses the file, with p's error after the object's place
// ("routes[0]: ..."). The result is the complete configuration, every
// object decoded, in file order. A nil p is config's default pipeline.
func ParseYAMLWith(p *config.Pipeline, data []byte) ([]Change, error) {
	return parseYAML(p, data, nil, nil)
}

// parseYAML is ParseYAMLWith; keep, when set, maps each decoded object to
// what the change carries (the source keeps a route's routeConf, not the
// route, so a million-route file is never held decoded twice).
//
// prev, when set, returns the item the Builder holds for a kind and id: an
// object whose JSON and place in the file are the same as that item's is
// not decoded again; its change carries the held item, which Apply skips as
// unchanged (the same ModRev, as for an etcd re-list). A reload of a file
// with one route changed among a million decodes one route (issue 13). prev
// is called from several goroutines at once while nothing applies.
//
// A file that is JSON (as generated configs usually are, and JSON is YAML)
// is read as JSON: converting 100 MB of YAML takes minutes. Objects are
// decoded on every CPU; the first error in file order is the one reported,
// as when decoding one by one.
func parseYAML(p *config.Pipeline, data []byte, keep func(config.Object) config.Object,
	prev func(*config.Kind, string) *Item) ([]Change, error) {
	body, ok := cutEndMarker(data)
	if !ok {
		return nil, ErrMissingEndMarker
	}
	var js []byte
	if bytes.Contains(body, []byte("${{")) {
		var err error
		if data, err = substituteEnv(data); err != nil {
			return nil, err
		}
		body, _ = cutEndMarker(data)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '{' && json.Valid(body) {
		js = body
	} else {
		var err error
		if js, err = yaml.YAMLToJSON(data); err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, fmt.Errorf("invalid YAML: top level must be a mapping: %w", err)
	}
	var changes []Change
	seen := map[*config.Kind]map[string]bool{} // ids by kind: a million depKeys hashed generically cost a second
	for _, k := range config.Kinds {
		if k == config.Credentials {
			continue // listed under consumers, as "<username>/credentials/<id>"
		}
		raw, ok := top[k.Name]
		delete(top, k.Name)
		if !ok || string(raw) == "null" {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%s: must be a list: %w", k.Name, err)
		}
		decoded := make([]Change, len(items))
		errs := make([]error, len(items))
		base := len(changes)
		parallel(len(items), func(i int) {
			decoded[i], errs[i] = decodeFileItem(p, k, items[i], i, base+i+1, prev)
			if errs[i] == nil && keep != nil && decoded[i].Obj != nil {
				decoded[i].Obj = keep(decoded[i].Obj)
			}
		})
		changes = slices.Grow(changes, len(decoded))
		for i, c := range decoded {
			if errs[i] != nil {
				return nil, fmt.Errorf("%s[%d]: %w", k.Name, i, errs[i])
			}
			ids := seen[c.Kind]
			if ids == nil {
				ids = make(map[string]bool, len(decoded))
				seen[c.Kind] = ids
			}
			if ids[c.ID] {
				return nil, fmt.Errorf("%s[%d]: duplicate id %q", k.Name, i, c.ID)
			}
			ids[c.ID] = true
			changes = append(changes, c)
		}
	}
	delete(top, "plugins") // the enabled-plugin list: sluice runs none yet
	for _, key := range sortedKeys(top) {
		return nil, fmt.Errorf("%s: not supported by sluice yet", key)
	}
	return changes, nil
}

// cutEndMarker returns data without its "#END" line, and whether it had
// one: the last non-space text must be #END (APISIX's end flag).
func cutEndMarker(data []byte) ([]byte, bool) {
	t := bytes.TrimRight(data, " \t\n\f\r")
	body, ok := bytes.CutSuffix(t, []byte("#END"))
	return body, ok
}

// parallel calls work(i) for i in [0, n), on every CPU when n is large.
func parallel(n int, work func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 512 || workers == 1 {
		for i := range n {
			work(i)
		}
		return
	}
	var next atomic.Int64
	var wg stdsync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				work(i)
			}
		})
	}
	wg.Wait()
}

// decodeFileItem decodes the i-th object of a kind's list; ord numbers
// objects across the file, so routes keep file order on priority ties. An
// object prev holds unchanged (same JSON, same ord) is not decoded: the
// change carries prev's item and no Obj.
func decodeFileItem(p *config.Pipeline, k *config.Kind, item json.RawMessage, i, ord int,
	prev func(*config.Kind, string) *Item) (Change, error) {
	var probe struct {
		ID       json.RawMessage `json:"id"`
		Username string          `json:"username"`
	}
	if err := json.Unmarshal(item, &probe); err != nil {
		return Change{}, fmt.Errorf("%w: invalid item data, it should be an object", config.ErrInvalid)
	}
	id := "arr_" + strconv.Itoa(i)
	if probe.ID != nil {
		var s string
		if json.Unmarshal(probe.ID, &s) != nil {
			s = string(probe.ID) // a numeric id
		}
		id = s
	}
	kind := k
	if k == config.Consumers {
		if owner, cred, ok := strings.Cut(id, "/credentials/"); ok && probe.ID != nil {
			kind, id = config.Credentials, owner+"/"+cred
			item = withoutID(item)
		} else {
			id = probe.Username
		}
	}
	if prev != nil {
		if old := prev(kind, id); old != nil && old.CreateRev == int64(ord) && bytes.Equal(old.Value, item) {
			return Change{Kind: kind, ID: id, Item: old}, nil
		}
	}
	obj, err := p.Load(kind, id, item)
	if err != nil {
		return Change{}, err
	}
	return Change{
		Kind: kind,
		ID:   id,
		Item: &Item{Key: kind.Name + "/" + id, Value: item, CreateRev: int64(ord), ModRev: int64(ord)},
		Obj:  obj,
	}, nil
}

// withoutID drops the composite "<username>/credentials/<id>" id, which the
// credential schema's id pattern would refuse.
func withoutID(item json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(item, &m) != nil {
		return item
	}
	delete(m, "id")
	b, _ := json.Marshal(m)
	return b
}

var envRef = regexp.MustCompile(`\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::=\s*([^}]*?)\s*)?\}\}`)

// substituteEnv replaces ${{NAME}} and ${{NAME:=default}} as APISIX does; a
// reference to an unset variable without a default is an error.
func substituteEnv(data []byte) ([]byte, error) {
	var missing string
	out := envRef.ReplaceAllFunc(data, func(m []byte) []byte {
		sub := envRef.FindSubmatch(m)
		if v, ok := os.LookupEnv(string(sub[1])); ok {
			return []byte(v)
		}
		if bytes.Contains(m, []byte(":=")) {
			return sub[2]
		}
		missing = string(sub[1])
		return m
	})
	if missing != "" {
		return nil, fmt.Errorf("can't find environment variable %s", missing)
	}
	return out, nil
}

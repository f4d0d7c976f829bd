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
	"strconv"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sluicegw/sluice/config"
)

// Events reports what a source did. Nil fields are skipped. Callbacks run on
// the source's goroutine and must not block.
type Events struct {
	// Published fires after a new snapshot became current.
	Published func(s *Snapshot)
	// Rejected fires when a new config was refused whole; the previous
	// snapshot keeps serving.
	Rejected func(err error)
}

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

	version int64
	modTime time.Time
	size    int64
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
	objs, err := ParseYAML(data)
	if err != nil {
		return fmt.Errorf("sync: %s: %w", y.Path, err)
	}
	y.version++
	start := time.Now()
	snap, skipped := y.Builder.Build(y.version, objs)
	for _, err := range skipped {
		y.logger().Error("route left out", "file", y.Path, "err", err)
	}
	y.Store.Publish(snap)
	y.logger().Info("config loaded", "file", y.Path, "version", snap.Version,
		"routes", len(objs.Routes), "upstreams", len(objs.Upstreams), "took", time.Since(start))
	if y.Events.Published != nil {
		y.Events.Published(snap)
	}
	return nil
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

var endMarker = regexp.MustCompile(`#END\s*$`)

// ParseYAML decodes a standalone apisix.yaml: the #END marker, ${{VAR}}
// environment substitution, then every object, all-or-nothing.
func ParseYAML(data []byte) (*Objects, error) {
	if !endMarker.Match(data) {
		return nil, ErrMissingEndMarker
	}
	data, err := substituteEnv(data)
	if err != nil {
		return nil, err
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return nil, fmt.Errorf("invalid YAML: top level must be a mapping: %w", err)
	}
	objs := &Objects{}
	for key, raw := range top {
		if string(raw) == "null" {
			continue
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%s: must be a list: %w", key, err)
		}
		for i, item := range items {
			item = withDefaultID(item, i)
			switch key {
			case "routes":
				r, err := config.DecodeRoute(item)
				if err != nil {
					return nil, fmt.Errorf("routes[%d]: %w", i, err)
				}
				objs.Routes = append(objs.Routes, r)
			case "upstreams":
				u, err := config.DecodeUpstream(item)
				if err != nil {
					return nil, fmt.Errorf("upstreams[%d]: %w", i, err)
				}
				objs.Upstreams = append(objs.Upstreams, u)
			default:
				return nil, fmt.Errorf("%s: not supported by sluice yet", key)
			}
		}
	}
	return objs, nil
}

// withDefaultID gives an object without "id" the id APISIX gives it in
// standalone mode: "arr_<index>".
func withDefaultID(item json.RawMessage, i int) json.RawMessage {
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(item, &probe) != nil || probe.ID != nil {
		return item
	}
	trimmed := bytes.TrimSpace(item)
	if len(trimmed) < 2 || trimmed[0] != '{' {
		return item
	}
	id := `"id":"arr_` + strconv.Itoa(i) + `"`
	if bytes.Equal(bytes.TrimSpace(trimmed[1:len(trimmed)-1]), nil) {
		return json.RawMessage("{" + id + "}")
	}
	return json.RawMessage("{" + id + "," + string(trimmed[1:]))
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

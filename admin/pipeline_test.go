package admin

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/httpmethod"
	"github.com/sluicegw/sluice/internal/testcert"
	cfgsync "github.com/sluicegw/sluice/sync"
	"github.com/sluicegw/sluice/trie"
)

// limitChecker stands in for the plugin registry: it knows one plugin,
// "limit", whose conf needs a count.
type limitChecker struct{}

func (limitChecker) CheckPlugin(k *config.Kind, name string, conf any) error {
	if name != "limit" {
		return config.ErrUnknownPlugin
	}
	if m, _ := conf.(map[string]any); m["count"] == nil && k != config.PluginMetadata {
		return errors.New(`property "count" is required`)
	}
	return nil
}

// threePaths feeds objects to the three ways configuration comes in, all
// sharing one pipeline: the Admin API (in-process, on embedded etcd), an
// EtcdSource on another prefix of that etcd (what an APISIX control plane
// writes), and a YAMLSource (a standalone apisix.yaml).
type threePaths struct {
	t        *testing.T
	admin    string // Admin API base URL
	cli      *clientv3.Client
	pipeline *config.Pipeline

	etcdStore *cfgsync.Store
	published chan *cfgsync.Snapshot
	problems  chan error
}

const dpPrefix = "/dp" // the etcd source's prefix, apart from the Admin API's

func newThreePaths(t *testing.T) *threePaths {
	kr, err := config.NewKeyring(config.DefaultKeyring)
	if err != nil {
		t.Fatal(err)
	}
	p := &threePaths{t: t, pipeline: &config.Pipeline{Keyring: kr, Plugins: limitChecker{}},
		etcdStore: cfgsync.NewStore(), published: make(chan *cfgsync.Snapshot, 100), problems: make(chan error, 100)}
	srv, cli := startAdmin(t, func(o *Options) { o.Pipeline = p.pipeline })
	p.admin, p.cli = srv.URL, cli
	src := &cfgsync.EtcdSource{
		Client:  cli,
		Prefix:  dpPrefix,
		Store:   p.etcdStore,
		Builder: &cfgsync.Builder{Mode: trie.URI, Pipeline: p.pipeline},
		Events: cfgsync.Events{
			Published: func(s *cfgsync.Snapshot) { p.published <- s },
			Problem:   func(err error) { p.problems <- err },
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-src.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the etcd source never loaded")
	}
	<-p.published
	return p
}

// viaAdmin PUTs value and returns the status and error_msg.
func (p *threePaths) viaAdmin(kind, id, value string) (int, string) {
	code, body := call(p.t, "PUT", p.admin+"/apisix/admin/"+kind+"/"+id, value)
	var e struct {
		Msg string `json:"error_msg"`
	}
	_ = json.Unmarshal([]byte(body), &e) // a success has no error_msg
	return code, e.Msg
}

// viaEtcd writes value where an APISIX control plane would and returns the
// snapshot that reflects it and the problems reported on the way.
func (p *threePaths) viaEtcd(kind, id, value string) (*cfgsync.Snapshot, []string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := p.cli.Put(ctx, dpPrefix+"/"+kind+"/"+id, value)
	if err != nil {
		p.t.Fatal(err)
	}
	var problems []string
	for {
		select {
		case s := <-p.published:
			if s.Version < resp.Header.Revision {
				continue
			}
			for {
				select {
				case err := <-p.problems:
					problems = append(problems, err.Error())
				default:
					return s, problems
				}
			}
		case <-time.After(10 * time.Second):
			p.t.Fatalf("no snapshot at revision %d", resp.Header.Revision)
		}
	}
}

// viaYAML loads a standalone apisix.yaml holding value and returns the
// snapshot, the load's error and the problems reported.
func (p *threePaths) viaYAML(kind, value string) (*cfgsync.Snapshot, error, []string) {
	p.t.Helper()
	path := filepath.Join(p.t.TempDir(), "apisix.yaml")
	// YAML is a superset of JSON: the object goes in as written.
	if err := os.WriteFile(path, []byte(kind+":\n  - "+value+"\n#END\n"), 0o600); err != nil {
		p.t.Fatal(err)
	}
	var problems []string
	y := &cfgsync.YAMLSource{Path: path, Store: cfgsync.NewStore(),
		Builder: &cfgsync.Builder{Mode: trie.URI, Pipeline: p.pipeline},
		Events:  cfgsync.Events{Problem: func(err error) { problems = append(problems, err.Error()) }}}
	err := y.Load()
	if err != nil {
		err = errors.New(strings.TrimPrefix(err.Error(), "sync: "+path+": "))
	}
	return y.Store.Load(), err, problems
}

func matchPath(s *cfgsync.Snapshot, path string) *cfgsync.Route {
	return s.Match(&trie.Query{Path: []byte(path), Method: httpmethod.Get.Bit(), RemoteAddr: netip.MustParseAddr("127.0.0.1")})
}

// TestSameObjectSameError: an object one way of bringing configuration in
// refuses, every way refuses, with the same text (issue 7, item 5). The
// Admin API answers 400 with it; the etcd source keeps the last good
// version and reports "<key>: <text>; keeping the last valid version"; the
// yaml source refuses the file with "<kind>[<i>]: <text>".
func TestSameObjectSameError(t *testing.T) {
	p := newThreePaths(t)
	cert, key := testcert.Pair(t, "test.com")
	_, otherKey := testcert.Pair(t, "test.com")
	ssl := func(id, k string) string {
		b, _ := json.Marshal(map[string]any{"id": id, "cert": cert, "key": k, "sni": "test.com"})
		return string(b)
	}
	for _, tc := range []struct {
		name, kind, id string
		value          string // the Admin API's body and apisix.yaml's entry
		stored         string // etcd's value, when a control plane stores it differently
		want           string
	}{
		{"schema", "routes", "schema", `{"id": "schema", "uri": "/a", "upstream_id": 1, "methods": ["FETCH"]}`, "",
			`invalid configuration: property "methods" validation failed: failed to validate item 1: matches none of the enum values`},
		{"unknown field", "routes", "field", `{"id": "field", "uri": "/a", "upstream_idd": 1}`, "",
			`invalid configuration: additional properties forbidden, found upstream_idd`},
		{"host and hosts", "routes", "hosts", `{"id": "hosts", "uri": "/a", "upstream_id": 1, "host": "a.com", "hosts": ["b.com"]}`, "",
			"only one of host or hosts is allowed"},
		{"vars", "routes", "vars", `{"id": "vars", "uri": "/a", "upstream_id": 1, "vars": [["arg_x", "~~", "["]]}`, "",
			"failed to validate the 'vars' expression: invalid regular expression \"[\": error parsing regexp: missing closing ]: `[`"},
		{"ipv6 node", "upstreams", "v6", `{"id": "v6", "nodes": {"::1:80": 1}}`, "",
			"IPv6 address must be enclosed with '[' and ']'"},
		{"bad plugin conf", "routes", "limit", `{"id": "limit", "uri": "/a", "upstream_id": 1, "plugins": {"limit": {}}}`, "",
			`failed to check the configuration of plugin limit err: property "count" is required`},
		{"consumer plugin conf", "consumers", "jack", `{"username": "jack", "plugins": {"limit": {}}}`, "",
			`invalid plugins configuration: failed to check the configuration of plugin limit err: property "count" is required`},
		// The data plane reads ssl keys encrypted, as the Admin API (and
		// APISIX's) stores them: pairing needs the keyring on every path.
		{"ssl key pair", "ssls", "pair", ssl("pair", otherKey), ssl("pair", p.pipeline.Keyring.Encrypt(otherKey)),
			"failed to handle cert-key pair: tls: private key does not match public key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, msg := p.viaAdmin(tc.kind, tc.id, tc.value); code != http.StatusBadRequest || msg != tc.want {
				t.Errorf("Admin API: %d %q\n                  want 400 %q", code, msg, tc.want)
			}
			stored := tc.stored
			if stored == "" {
				stored = tc.value
			}
			_, problems := p.viaEtcd(tc.kind, tc.id, stored)
			want := dpPrefix + "/" + tc.kind + "/" + tc.id + ": " + tc.want + "; keeping the last valid version"
			if len(problems) != 1 || problems[0] != want {
				t.Errorf("etcd source: %q\n             want [%q]", problems, want)
			}
			_, err, _ := p.viaYAML(tc.kind, tc.value)
			want = tc.kind + "[0]: " + tc.want
			if err == nil || err.Error() != want {
				t.Errorf("yaml source: %v\n             want %q", err, want)
			}
		})
	}

	// A good pair is accepted everywhere, its key encrypted or not.
	t.Run("ssl good pair", func(t *testing.T) {
		if code, msg := p.viaAdmin("ssls", "good", ssl("good", key)); code != http.StatusCreated {
			t.Errorf("Admin API: %d %s", code, msg)
		}
		if _, problems := p.viaEtcd("ssls", "good", ssl("good", p.pipeline.Keyring.Encrypt(key))); len(problems) > 0 {
			t.Errorf("etcd source: %q", problems)
		}
		for _, k := range []string{key, p.pipeline.Keyring.Encrypt(key)} {
			if _, err, _ := p.viaYAML("ssls", ssl("good", k)); err != nil {
				t.Errorf("yaml source: %v", err)
			}
		}
	})
}

// TestUnknownPluginSameError: a plugin sluice does not run gets the same
// text on every path, but a different fate. The Admin API refuses the
// write. The sources admit what a control plane stored, since refusing it
// would keep the previous version serving without the plugin, and the
// route fails closed: 503, with that text as the reason.
func TestUnknownPluginSameError(t *testing.T) {
	p := newThreePaths(t)
	const value = `{"id": "ka", "uri": "/ka", "upstream_id": 1, "plugins": {"key-auth": {}, "limit": {"count": 1}}}`
	const want = "unknown plugin [key-auth]"
	if code, msg := p.viaAdmin("routes", "ka", value); code != http.StatusBadRequest || msg != want {
		t.Errorf("Admin API: %d %q, want 400 %q", code, msg, want)
	}
	snap, problems := p.viaEtcd("routes", "ka", value)
	if r := matchPath(snap, "/ka"); r == nil || r.Status != http.StatusServiceUnavailable || r.Err == nil || r.Err.Error() != want {
		t.Errorf("etcd source: route %+v, want 503 because %q", r, want)
	}
	if len(problems) != 1 || problems[0] != "route ka: "+want+"; it answers 503" {
		t.Errorf("etcd source problems: %q", problems)
	}
	snap, err, problems := p.viaYAML("routes", value)
	if err != nil {
		t.Fatalf("yaml source: %v", err)
	}
	if r := matchPath(snap, "/ka"); r == nil || r.Status != http.StatusServiceUnavailable || r.Err == nil || r.Err.Error() != want {
		t.Errorf("yaml source: route %+v, want 503 because %q", r, want)
	}
	if len(problems) != 1 || problems[0] != "route ka: "+want+"; it answers 503" {
		t.Errorf("yaml source problems: %q", problems)
	}
}

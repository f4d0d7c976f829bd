package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/jsonschema"
)

// target is the object (or directory) a request names.
type target struct {
	kind *config.Kind
	dir  string   // etcd directory key, with a trailing "/"
	id   string   // "" for the directory itself
	sub  []string // PATCH sub-path below the object
	// consumer is the owning consumer of a credential.
	consumer string
}

func (t *target) key() string { return t.dir + t.id }

// unsupported lists the methods APISIX refuses per kind, with 405.
var unsupported = map[*config.Kind][]string{
	config.Consumers:      {http.MethodPost, http.MethodPatch},
	config.Credentials:    {http.MethodPost, http.MethodPatch},
	config.PluginMetadata: {http.MethodPost, http.MethodPatch},
	config.LuaPlugins:     {http.MethodPost},
}

func (s *Server) target(req *request, kind *config.Kind) (*target, error) {
	segs := req.segs
	t := &target{kind: kind, dir: s.o.Prefix + "/" + kind.Name + "/"}
	if kind == config.Consumers && len(segs) >= 3 && segs[2] == "credentials" {
		if len(segs) > 4 {
			return nil, apiErr(http.StatusNotFound, "not found")
		}
		t.kind, t.consumer = config.Credentials, segs[1]
		t.dir = s.o.Prefix + "/consumers/" + segs[1] + "/credentials/"
		if len(segs) == 4 {
			t.id = segs[3]
		}
	} else if len(segs) >= 2 {
		t.id, t.sub = segs[1], segs[2:]
	}
	if len(t.sub) > 0 && req.Method != http.MethodPatch {
		return nil, apiErr(http.StatusNotFound, "not found")
	}
	if slices.Contains(unsupported[t.kind], req.Method) {
		return nil, apiErr(http.StatusMethodNotAllowed, "not supported `%s` method for %s", req.Method, t.kind.Noun)
	}
	return t, nil
}

func (s *Server) resource(req *request, kind *config.Kind) (int, any, error) {
	t, err := s.target(req, kind)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(req.Context(), s.o.RequestTimeout)
	defer cancel()
	switch req.Method {
	case http.MethodGet:
		if t.id == "" {
			return s.list(ctx, req, t)
		}
		return s.get(ctx, t)
	case http.MethodPut:
		return s.put(ctx, req, t)
	case http.MethodPost:
		return s.post(ctx, req, t)
	case http.MethodPatch:
		return s.patch(ctx, req, t)
	case http.MethodDelete:
		return s.delete(ctx, req, t)
	}
	return 0, nil, apiErr(http.StatusNotFound, "not found")
}

// entry is how the Admin API shows a stored object.
type entry struct {
	Key           string          `json:"key"`
	Value         json.RawMessage `json:"value"`
	CreatedIndex  int64           `json:"createdIndex,omitempty"`
	ModifiedIndex int64           `json:"modifiedIndex,omitempty"`
}

func (s *Server) get(ctx context.Context, t *target) (int, any, error) {
	resp, err := s.o.Client.Get(ctx, t.key())
	if err != nil {
		return 0, nil, err
	}
	if len(resp.Kvs) == 0 {
		return 0, nil, errKeyNotFound
	}
	kv := resp.Kvs[0]
	return http.StatusOK, entry{Key: t.key(), Value: s.shown(t.kind, t.key(), kv.Value), CreatedIndex: kv.CreateRevision, ModifiedIndex: kv.ModRevision}, nil
}

// hideKeys is an ssl as the Admin API returns it: its private keys are
// never sent back.
func hideKeys(value []byte) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(value, &m) != nil {
		return value
	}
	delete(m, "key")
	delete(m, "keys")
	b, _ := json.Marshal(m)
	return b
}

// list answers GET on a directory: {"total": n, "list": [...]}, filtered by
// name, label, uri and filter=, paged by page and page_size.
func (s *Server) list(ctx context.Context, req *request, t *target) (int, any, error) {
	q := req.URL.Query()
	var nameRe, uriRe *regexp.Regexp
	var err error
	if v := q.Get("name"); v != "" {
		if nameRe, err = regexp.Compile(v); err != nil {
			return 0, nil, apiErr(http.StatusBadRequest, "invalid argument name: %v", err)
		}
	}
	if v := q.Get("uri"); v != "" {
		if uriRe, err = regexp.Compile(v); err != nil {
			return 0, nil, apiErr(http.StatusBadRequest, "invalid argument uri: %v", err)
		}
	}
	var refFilter url.Values
	if v := q.Get("filter"); v != "" {
		if refFilter, err = url.ParseQuery(v); err != nil {
			return 0, nil, apiErr(http.StatusBadRequest, "invalid argument filter: %v", err)
		}
	}
	label := q.Get("label")
	page, pageSize := 0, 0
	if q.Has("page") && q.Has("page_size") {
		page, _ = strconv.Atoi(q.Get("page"))
		pageSize, _ = strconv.Atoi(q.Get("page_size"))
		if pageSize < 10 || pageSize > 500 {
			return 0, nil, apiErr(http.StatusBadRequest, "page_size must be between 10 and 500")
		}
		page = max(page, 1)
	}

	resp, err := s.o.Client.Get(ctx, t.dir, clientv3.WithPrefix())
	if err != nil {
		return 0, nil, err
	}
	out := []entry{}
	for _, kv := range resp.Kvs {
		rest := strings.TrimPrefix(string(kv.Key), t.dir)
		if rest == "" || strings.Contains(rest, "/") {
			continue // the init_dir placeholder, or a consumer's credentials
		}
		var v struct {
			Name      string            `json:"name"`
			Labels    map[string]string `json:"labels"`
			URI       string            `json:"uri"`
			URIs      []string          `json:"uris"`
			ServiceID json.RawMessage   `json:"service_id"`
			Upstream  json.RawMessage   `json:"upstream_id"`
		}
		if json.Unmarshal(kv.Value, &v) != nil {
			continue // not an object: nothing APISIX would list either
		}
		if nameRe != nil && !nameRe.MatchString(v.Name) {
			continue
		}
		if label != "" {
			if _, ok := v.Labels[label]; !ok {
				continue
			}
		}
		if uriRe != nil && !slices.ContainsFunc(append([]string{v.URI}, v.URIs...), func(u string) bool { return u != "" && uriRe.MatchString(u) }) {
			continue
		}
		if refFilter != nil && !(matchesRef(refFilter, "service_id", v.ServiceID) && matchesRef(refFilter, "upstream_id", v.Upstream)) {
			continue
		}
		out = append(out, entry{Key: string(kv.Key), Value: s.shown(t.kind, string(kv.Key), kv.Value), CreatedIndex: kv.CreateRevision, ModifiedIndex: kv.ModRevision})
	}
	total := len(out)
	if pageSize > 0 {
		slices.SortStableFunc(out, func(a, b entry) int { return cmp.Compare(a.CreatedIndex, b.CreatedIndex) })
		from := min((page-1)*pageSize, len(out))
		out = out[from:min(from+pageSize, len(out))]
	}
	return http.StatusOK, map[string]any{"total": total, "list": out}, nil
}

// matchesRef applies one field of filter= ("service_id=1"): the object's
// id, string or number, must equal the wanted one.
func matchesRef(f url.Values, field string, raw json.RawMessage) bool {
	want, ok := f[field]
	if !ok {
		return true
	}
	got := strings.Trim(string(raw), `"`)
	return len(raw) > 0 && slices.Contains(want, got)
}

// forbiddenFields are set by the Admin API, never by clients (PUT, POST).
var forbiddenFields = []string{"create_time", "update_time"}

func (s *Server) put(ctx context.Context, req *request, t *target) (int, any, error) {
	conf, err := objectBody(req)
	if err != nil {
		return 0, nil, err
	}
	if err := checkForbidden(conf); err != nil {
		return 0, nil, err
	}
	id, err := s.idFor(t, conf, true)
	if err != nil {
		return 0, nil, err
	}
	t.id = id
	return s.write(ctx, req, t, conf, 0, http.StatusOK)
}

func (s *Server) post(ctx context.Context, req *request, t *target) (int, any, error) {
	conf, err := objectBody(req)
	if err != nil {
		return 0, nil, err
	}
	if err := checkForbidden(conf); err != nil {
		return 0, nil, err
	}
	if _, err := s.idFor(t, conf, false); err != nil {
		return 0, nil, err
	}
	// APISIX's ids: the revision of a write to gen_id, 20 digits.
	resp, err := s.o.Client.Put(ctx, s.o.Prefix+"/gen_id", "1")
	if err != nil {
		return 0, nil, err
	}
	t.id = fmt.Sprintf("%020d", resp.Header.Revision)
	conf["id"] = t.id
	return s.write(ctx, req, t, conf, 0, http.StatusCreated)
}

// idFor settles an object's id from the path and the body, as APISIX's
// check_conf does: PUT needs one (and both must agree), POST must not have
// one. Consumers are named by username, plugin metadata by the path.
func (s *Server) idFor(t *target, conf map[string]any, need bool) (string, error) {
	switch t.kind {
	case config.Consumers:
		name, _ := conf["username"].(string)
		if t.id != "" && name != t.id {
			return "", apiErr(http.StatusBadRequest, "wrong username")
		}
		if name == "" {
			return "", config.Consumers.Validate(conf) // reports the missing username
		}
		return name, nil
	case config.PluginMetadata, config.LuaPlugins:
		if t.id == "" {
			return "", apiErr(http.StatusBadRequest, "missing plugin name")
		}
		return t.id, nil
	}
	bodyID, hasBodyID := conf["id"]
	id := t.id
	if id == "" && hasBodyID {
		id = idString(bodyID)
	}
	switch {
	case need && id == "":
		return "", apiErr(http.StatusBadRequest, "missing %s id", t.kind.Noun)
	case !need && id != "":
		return "", apiErr(http.StatusBadRequest, "wrong %s id, do not need it", t.kind.Noun)
	case hasBodyID && idString(bodyID) != id:
		return "", apiErr(http.StatusBadRequest, "wrong %s id", t.kind.Noun)
	}
	if !hasBodyID || t.id != "" {
		conf["id"] = id
	}
	return id, nil
}

func idString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func objectBody(req *request) (map[string]any, error) {
	if req.body == nil {
		return nil, apiErr(http.StatusBadRequest, "missing configurations")
	}
	conf, ok := req.body.(map[string]any)
	if !ok {
		return nil, apiErr(http.StatusBadRequest, "invalid configuration: wrong type: expected object, got table")
	}
	return conf, nil
}

func checkForbidden(conf map[string]any) error {
	for _, f := range forbiddenFields {
		if _, ok := conf[f]; ok {
			return apiErr(http.StatusBadRequest, "the property is forbidden:  %s", f)
		}
	}
	return nil
}

// write validates conf as t's object and stores it in one transaction that
// also checks every object it refers to still exists. With expectRev set
// (PATCH) the object must not have changed since it was read. okStatus is
// the status of an update; a creation answers 201.
func (s *Server) write(ctx context.Context, req *request, t *target, conf map[string]any, expectRev int64, okStatus int) (int, any, error) {
	ttl, aerr := req.ttl()
	if aerr != nil {
		return 0, nil, aerr
	}
	refs, err := s.checkObject(ctx, t, conf)
	if err != nil {
		return 0, nil, err
	}
	key := t.key()
	var prev *clientv3.GetResponse
	if expectRev == 0 {
		// create_time survives updates: read the previous version.
		if prev, err = s.o.Client.Get(ctx, key); err != nil {
			return 0, nil, err
		}
	}
	now := float64(s.o.Now().Unix())
	if t.kind != config.PluginMetadata {
		if expectRev == 0 {
			conf["create_time"] = now
			if prev != nil && len(prev.Kvs) > 0 {
				var old struct {
					CreateTime *float64 `json:"create_time"`
				}
				if json.Unmarshal(prev.Kvs[0].Value, &old) == nil && old.CreateTime != nil {
					conf["create_time"] = *old.CreateTime
				}
			}
		} else if _, ok := conf["create_time"]; !ok {
			conf["create_time"] = now
		}
		conf["update_time"] = now
	}
	if t.kind == config.SSLs {
		encryptKeys(conf, s.o.Pipeline.Keyring)
	}
	// APISIX encrypts plugin secrets only once the object passed its
	// checks, and answers with what it stored.
	s.o.Pipeline.Keyring.EncryptObject(t.kind, t.id, conf)
	value, err := json.Marshal(conf)
	if err != nil {
		return 0, nil, err
	}
	var opts []clientv3.OpOption
	if ttl > 0 {
		lease, err := s.o.Client.Grant(ctx, ttl)
		if err != nil {
			return 0, nil, err
		}
		opts = append(opts, clientv3.WithLease(lease.ID))
	}
	var cmps []clientv3.Cmp
	for _, r := range refs {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(r.key), ">", 0))
	}
	if expectRev != 0 {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", expectRev))
	}
	resp, err := s.o.Client.Txn(ctx).If(cmps...).Then(clientv3.OpPut(key, string(value), append(opts, clientv3.WithPrevKV())...)).Commit()
	if err != nil {
		return 0, nil, err
	}
	if !resp.Succeeded {
		// Something changed between the checks and the write: say what.
		if t.kind == config.SSLs {
			decryptKeys(conf, s.o.Pipeline.Keyring)
		}
		s.o.Pipeline.Keyring.DecryptObject(t.kind, t.id, conf)
		if _, err := s.checkObject(ctx, t, conf); err != nil {
			return 0, nil, err
		}
		return 0, nil, apiErr(http.StatusServiceUnavailable, "value changed before overwritten")
	}
	status := http.StatusCreated
	if put := resp.Responses[0].GetResponsePut(); put != nil && put.PrevKv != nil {
		status = okStatus
	}
	if t.kind == config.SSLs {
		value = hideKeys(value)
	}
	return status, entry{Key: key, Value: value}, nil
}

type ref struct {
	key  string
	what string // for the message: "service info by service id"
	id   string
}

// checkObject validates conf through the validation pipeline (schema, the
// checks the schema cannot express, plugins, ssl key pairs) and the
// references APISIX's Admin API checks. It fills in defaults in conf and
// returns the objects conf refers to.
func (s *Server) checkObject(ctx context.Context, t *target, conf map[string]any) ([]ref, error) {
	raw, err := json.Marshal(conf)
	if err != nil {
		return nil, err
	}
	id := t.id
	if t.kind == config.Credentials {
		id = t.consumer + "/" + t.id
	}
	obj, value, err := s.o.Pipeline.Check(t.kind, id, raw)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case config.Consumers:
		err = s.checkDuplicateKeys(ctx, t.id, "", value)
	case config.Credentials:
		if err = s.checkCredentialPlugins(value); err == nil {
			err = s.checkDuplicateKeys(ctx, t.consumer, t.id, value)
		}
	}
	if err != nil {
		return nil, err
	}
	// Check filled defaults into its own copy; store that.
	clear(conf)
	for k, v := range value {
		conf[k] = v
	}
	var refs []ref
	addRef := func(k *config.Kind, what string, id config.ID) {
		if !id.IsZero() {
			refs = append(refs, ref{key: s.o.Prefix + "/" + k.Name + "/" + id.S, what: what, id: id.S})
		}
	}
	switch o := obj.(type) {
	case *config.Route:
		addRef(config.Upstreams, "upstream info by upstream id", o.UpstreamID)
		addRef(config.Services, "service info by service id", o.ServiceID)
		addRef(config.PluginConfigs, "plugin config info by plugin config id", o.PluginConfigID)
	case *config.Service:
		addRef(config.Upstreams, "upstream info by upstream id", o.UpstreamID)
	case *config.Consumer:
		addRef(config.ConsumerGroups, "consumer group info by consumer group id", o.GroupID)
	}
	if t.kind == config.Credentials {
		refs = append(refs, ref{key: s.o.Prefix + "/consumers/" + t.consumer})
	}
	for _, r := range refs {
		resp, err := s.o.Client.Get(ctx, r.key, clientv3.WithCountOnly())
		if err != nil {
			return nil, err
		}
		if resp.Count > 0 {
			continue
		}
		if r.what == "" {
			return nil, apiErr(http.StatusNotFound, "consumer not found")
		}
		return nil, apiErr(http.StatusBadRequest, "failed to fetch %s [%s], response code: 404", r.what, r.id)
	}
	return refs, nil
}

// encryptKeys replaces an ssl's private keys with their encrypted form, as
// APISIX stores them; decryptKeys undoes it.
func encryptKeys(conf map[string]any, kr *config.Keyring) { mapKeys(conf, kr.Encrypt) }
func decryptKeys(conf map[string]any, kr *config.Keyring) { mapKeys(conf, kr.Decrypt) }

// mapKeys applies f to an ssl's key and keys.
func mapKeys(conf map[string]any, f func(string) string) {
	if k, ok := conf["key"].(string); ok {
		conf["key"] = f(k)
	}
	if keys, ok := conf["keys"].([]any); ok {
		for i, k := range keys {
			if ks, ok := k.(string); ok {
				keys[i] = f(ks)
			}
		}
	}
}

func (s *Server) patch(ctx context.Context, req *request, t *target) (int, any, error) {
	if t.id == "" {
		return 0, nil, apiErr(http.StatusBadRequest, "missing %s id", t.kind.Noun)
	}
	if req.body == nil {
		return 0, nil, apiErr(http.StatusBadRequest, "missing new configuration")
	}
	resp, err := s.o.Client.Get(ctx, t.key())
	if err != nil {
		return 0, nil, err
	}
	if len(resp.Kvs) == 0 {
		return 0, nil, errKeyNotFound
	}
	old, err := jsonschema.DecodeJSON(resp.Kvs[0].Value)
	if err != nil {
		return 0, nil, apiErr(http.StatusBadRequest, "invalid configuration: the stored value is not JSON")
	}
	conf, ok := old.(map[string]any)
	if !ok {
		return 0, nil, apiErr(http.StatusBadRequest, "invalid configuration: the stored value is not an object")
	}
	if t.kind == config.SSLs {
		// The patch carries plain keys; the stored ones are encrypted and
		// must be compared as plain text when the pair is checked.
		decryptKeys(conf, s.o.Pipeline.Keyring)
	}
	// So are plugin secrets; decrypted now, they are encrypted once again
	// when the merged object is written, not twice.
	s.o.Pipeline.Keyring.DecryptObject(t.kind, t.id, conf)
	if len(t.sub) == 0 {
		patch, ok := req.body.(map[string]any)
		if !ok {
			return 0, nil, apiErr(http.StatusBadRequest, "invalid configuration")
		}
		mergePatch(conf, patch)
	} else if conf, err = patchPath(conf, t.sub, req.body); err != nil {
		return 0, nil, err
	}
	if t.kind != config.Consumers && t.kind != config.PluginMetadata && t.kind != config.LuaPlugins {
		conf["id"] = t.id // a patch cannot rename an object
	}
	return s.write(ctx, req, t, conf, resp.Kvs[0].ModRevision, http.StatusOK)
}

// mergePatch applies patch to dst as APISIX's PATCH does: objects merge
// recursively, anything else (arrays included) replaces, null deletes.
func mergePatch(dst, patch map[string]any) {
	for k, v := range patch {
		if v == nil {
			delete(dst, k)
			continue
		}
		pm, pok := v.(map[string]any)
		dm, dok := dst[k].(map[string]any)
		if pok && dok {
			mergePatch(dm, pm)
			continue
		}
		dst[k] = v
	}
}

// patchPath replaces the value at a sub-path ("upstream/nodes"), creating
// intermediate objects as APISIX does.
func patchPath(conf map[string]any, path []string, value any) (map[string]any, error) {
	cur := conf
	for i, seg := range path[:len(path)-1] {
		next, ok := cur[seg]
		if !ok {
			m := map[string]any{}
			cur[seg] = m
			cur = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return nil, apiErr(http.StatusBadRequest, "invalid sub-path: /%s", strings.Join(path[:i+1], "/"))
		}
		cur = m
	}
	cur[path[len(path)-1]] = value
	return conf, nil
}

func (s *Server) delete(ctx context.Context, req *request, t *target) (int, any, error) {
	if t.id == "" {
		return 0, nil, apiErr(http.StatusBadRequest, "missing %s id", t.kind.Noun)
	}
	if req.URL.Query().Get("force") != "true" {
		if err := s.checkUnused(ctx, t); err != nil {
			return 0, nil, err
		}
	}
	key := t.key()
	ops := []clientv3.Op{clientv3.OpDelete(key)}
	if t.kind == config.Consumers {
		// A consumer's credentials go with it, in the same transaction.
		ops = append(ops, clientv3.OpDelete(key+"/credentials/", clientv3.WithPrefix()))
	}
	resp, err := s.o.Client.Txn(ctx).Then(ops...).Commit()
	if err != nil {
		return 0, nil, err
	}
	if resp.Responses[0].GetResponseDeleteRange().Deleted == 0 {
		return 0, nil, errKeyNotFound
	}
	return http.StatusOK, map[string]string{"deleted": "1", "key": key}, nil
}

// users says which kinds may refer to a kind and by which field: deleting
// an object still referred to is refused unless ?force=true.
var users = map[*config.Kind][]struct {
	kind  *config.Kind
	field string
}{
	config.Upstreams:      {{config.Routes, "upstream_id"}, {config.Services, "upstream_id"}},
	config.Services:       {{config.Routes, "service_id"}},
	config.PluginConfigs:  {{config.Routes, "plugin_config_id"}},
	config.ConsumerGroups: {{config.Consumers, "group_id"}},
}

var deleteNoun = map[*config.Kind]string{
	config.Upstreams:      "upstream",
	config.Services:       "service directly",
	config.PluginConfigs:  "plugin config",
	config.ConsumerGroups: "consumer group",
}

// checkUnused refuses to delete an object another one still refers to. It
// reads etcd, not this node's snapshot, so it sees every writer's objects.
func (s *Server) checkUnused(ctx context.Context, t *target) error {
	for _, u := range users[t.kind] {
		dir := s.o.Prefix + "/" + u.kind.Name + "/"
		resp, err := s.o.Client.Get(ctx, dir, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		for _, kv := range resp.Kvs {
			var m map[string]json.RawMessage
			if json.Unmarshal(kv.Value, &m) != nil {
				continue
			}
			if raw, ok := m[u.field]; ok && strings.Trim(string(raw), `"`) == t.id {
				return apiErr(http.StatusBadRequest, "can not delete this %s, %s [%s] is still using it now",
					deleteNoun[t.kind], u.kind.Noun, strings.TrimPrefix(string(kv.Key), dir))
			}
		}
	}
	return nil
}

package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/jsonschema"
)

// Role is an admin key's role.
type Role string

// Roles APISIX defines.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer" // GET only
)

// Key is one admin_key entry.
type Key struct {
	Name string
	Key  string
	Role Role
}

// Options configure the Admin API.
type Options struct {
	// Client writes to etcd; Prefix is the key prefix (default /apisix).
	Client *clientv3.Client
	Prefix string
	// Keys are the accepted API keys; KeyRequired false accepts any
	// request (admin_key_required: false).
	Keys        []Key
	KeyRequired bool
	// AllowAdmin lists the client networks allowed in (allow_admin);
	// empty allows every client.
	AllowAdmin []netip.Prefix
	// CORS adds APISIX's CORS headers and answers preflights
	// (enable_admin_cors, default true).
	CORS bool
	// Pipeline validates every object written, as the data plane's sources
	// validate what they read. Nil means config's default pipeline (no
	// keyring, no plugins). Its Keyring also encrypts ssl private keys
	// before they are stored, so what one node writes every node reads.
	Pipeline *config.Pipeline
	// Plugins lists the enabled plugins and their schemas
	// (/apisix/admin/plugins/...); nil lists none.
	Plugins PluginCatalog
	// Reload is plugins reload (PUT /apisix/admin/plugins/reload): read
	// config.yaml's plugins and the Lua plugin files again and recompile;
	// nil: nothing to reload.
	Reload func(ctx context.Context) error
	// RequestTimeout bounds every etcd call; zero means 10 s.
	RequestTimeout time.Duration
	// ServerHeader is the Server response header.
	ServerHeader string
	Logger       *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// MaxBodyBytes is APISIX's admin request body limit: 1.5 MiB.
const MaxBodyBytes = 1572864

// Server is the Admin API as an http.Handler.
type Server struct {
	o Options
}

// PluginCatalog is what the Admin API shows of the plugin registry.
type PluginCatalog interface {
	// List returns the enabled plugins' names by descending priority.
	List() []string
	// Schema returns a plugin's schema of a type ("", "consumer",
	// "metadata"), or false when the plugin or that schema does not exist.
	Schema(name, typ string) (json.RawMessage, bool)
}

// New returns the Admin API handler.
func New(o Options) *Server {
	if o.Prefix == "" {
		o.Prefix = "/apisix"
	}
	o.Prefix = strings.TrimSuffix(o.Prefix, "/")
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Pipeline == nil {
		o.Pipeline = &config.Pipeline{}
	}
	return &Server{o: o}
}

// APIError is every failure the Admin API reports: the HTTP status and the
// body APISIX would send. Err, when set, is the cause, for the log.
type APIError struct {
	Status int
	Body   any // usually {"error_msg": ...}
	Err    error
}

func (e *APIError) Error() string {
	b, _ := json.Marshal(e.Body)
	return fmt.Sprintf("%d %s", e.Status, b)
}

func apiErr(status int, format string, args ...any) *APIError {
	return &APIError{Status: status, Body: map[string]string{"error_msg": fmt.Sprintf(format, args...)}}
}

var errKeyNotFound = &APIError{Status: http.StatusNotFound, Body: map[string]string{"message": "Key not found"}}

// toAPIError maps errors from config and etcd onto APISIX's answers; it is
// the one place that decides what a failure looks like to a client.
func toAPIError(err error) *APIError {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, config.ErrInvalid):
		return apiErr(http.StatusBadRequest, "%s", config.Message(err))
	}
	// Everything else is etcd failing us: APISIX answers 503 with etcd's
	// error.
	return &APIError{Status: http.StatusServiceUnavailable, Body: map[string]string{"error_msg": err.Error()}, Err: err}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.o.Now()
	status, body := s.serve(w, r)
	s.respond(w, status, body)
	s.o.Logger.Info("admin request", "method", r.Method, "path", r.URL.Path, "status", status,
		"remote", r.RemoteAddr, "took", time.Since(start))
}

func (s *Server) respond(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-API-VERSION", "v3")
	if s.o.ServerHeader != "" {
		h.Set("Server", s.o.ServerHeader)
	}
	if s.o.CORS {
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Expose-Headers", "*")
		h.Set("Access-Control-Max-Age", "3600")
		h.Set("Access-Control-Allow-Headers", "*")
		h.Set("Access-Control-Allow-Methods", "*")
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	var b []byte
	if raw, ok := body.(rawBody); ok {
		b = raw
	} else {
		var err error
		if b, err = json.Marshal(body); err != nil {
			status, b = http.StatusInternalServerError, []byte(`{"error_msg":"encoding the response failed"}`)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// rawBody is a response body already encoded.
type rawBody []byte

func (s *Server) serve(w http.ResponseWriter, r *http.Request) (int, any) {
	if !s.allowed(r) {
		return http.StatusForbidden, map[string]string{"error_msg": "forbidden: client address not in allow_admin"}
	}
	if r.Method == http.MethodOptions && s.o.CORS {
		return http.StatusOK, nil
	}
	if err := s.authorize(r); err != nil {
		return err.Status, err.Body
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/apisix/admin")
	if !ok || (rest != "" && rest[0] != '/') {
		return http.StatusNotFound, map[string]string{"error_msg": "not found"}
	}
	if rest == "" || rest == "/" {
		if r.Method == http.MethodHead {
			return http.StatusOK, nil
		}
		return http.StatusNotFound, map[string]string{"error_msg": "not found"}
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	req := &request{Request: r, segs: segs}
	if err := req.readBody(w); err != nil {
		return err.Status, err.Body
	}
	var status int
	var body any
	var err error
	switch segs[0] {
	case "plugins":
		status, body, err = s.plugins(req)
	case "schema":
		status, body, err = s.schema(req)
	case "stream_routes":
		err = apiErr(http.StatusBadRequest, "stream mode is disabled, can not add stream routes")
	default:
		kind := config.KindByName(segs[0])
		if kind == nil || kind == config.Credentials {
			return http.StatusNotFound, map[string]string{"error_msg": "Unsupported resource type: " + segs[0]}
		}
		status, body, err = s.resource(req, kind)
	}
	if err != nil {
		ae := toAPIError(err)
		if ae.Err != nil {
			s.o.Logger.Error("admin request failed", "path", r.URL.Path, "err", ae.Err)
		}
		return ae.Status, ae.Body
	}
	return status, body
}

// allowed applies allow_admin to the client's address.
func (s *Server) allowed(r *http.Request) bool {
	if len(s.o.AllowAdmin) == 0 {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.o.AllowAdmin {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// authorize checks the API key: ?api_key=, then X-API-KEY, then the
// x_api_key cookie, as APISIX reads them.
func (s *Server) authorize(r *http.Request) *APIError {
	if !s.o.KeyRequired {
		return nil
	}
	token := r.URL.Query().Get("api_key")
	if token == "" {
		token = r.Header.Get("X-API-KEY")
	}
	if token == "" {
		if c, err := r.Cookie("x_api_key"); err == nil {
			token = c.Value
		}
	}
	deny := func(why string) *APIError {
		return &APIError{Status: http.StatusUnauthorized, Body: map[string]string{"error_msg": "failed to check token", "description": why}}
	}
	if token == "" {
		return deny("missing apikey")
	}
	for _, k := range s.o.Keys {
		// Constant time: how long a wrong key takes to refuse must not
		// tell how much of it was right.
		if k.Key != "" && subtle.ConstantTimeCompare([]byte(k.Key), []byte(token)) == 1 {
			if k.Role == RoleViewer && r.Method != http.MethodGet {
				return deny("invalid method for role viewer")
			}
			return nil
		}
	}
	return deny("wrong apikey")
}

// request is one Admin API call: its path segments below /apisix/admin and
// its decoded body.
type request struct {
	*http.Request
	segs    []string
	rawBody []byte
	body    any // decoded JSON; nil when the request had no body
}

func (r *request) readBody(w http.ResponseWriter) *APIError {
	if r.Body == nil {
		return nil
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apiErr(http.StatusBadRequest, "invalid request body: request size %d is greater than the maximum size %d allowed", max(r.ContentLength, MaxBodyBytes+1), MaxBodyBytes)
		}
		return apiErr(http.StatusBadRequest, "invalid request body: %v", err)
	}
	r.rawBody = data
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil
	}
	v, err := jsonschema.DecodeJSON(data)
	if err != nil {
		return &APIError{Status: http.StatusBadRequest, Body: map[string]string{
			"error_msg": "invalid request body: " + err.Error(),
			"req_body":  string(data),
		}}
	}
	r.body = v
	return nil
}

// ttl returns the ?ttl= argument in seconds (0: none).
func (r *request) ttl() (int64, *APIError) {
	v := r.URL.Query().Get("ttl")
	if v == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, apiErr(http.StatusBadRequest, "invalid argument ttl: should be a number")
	}
	if f < 1 {
		f = 1 // etcd's minimum lease
	}
	return int64(f), nil
}

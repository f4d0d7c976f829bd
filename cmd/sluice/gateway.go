package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/sluicegw/sluice/admin"
	"github.com/sluicegw/sluice/balancer/health"
	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/discovery"
	"github.com/sluicegw/sluice/embedetcd"
	"github.com/sluicegw/sluice/engine"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/localconf"
	"github.com/sluicegw/sluice/lua"
	"github.com/sluicegw/sluice/plugin"
	_ "github.com/sluicegw/sluice/plugin/all" // the built-in plugins
	cfgsync "github.com/sluicegw/sluice/sync"
	"github.com/sluicegw/sluice/trie"
)

// stack runs cleanups in reverse order of registration: what started last
// stops first (the proxy before the config source, the etcd client before
// the embedded etcd it talks to).
type stack []func()

func (s *stack) push(f func()) { *s = append(*s, f) }

func (s stack) unwind() {
	for i := len(s) - 1; i >= 0; i-- {
		s[i]()
	}
}

// runGateway runs one node until SIGTERM or SIGINT: its config source
// (etcd, embedded etcd or apisix.yaml), the Admin and control APIs, and the
// proxy. The proxy port opens only once the first full configuration is
// loaded, so a starting node never answers 404 for routes that exist.
func runGateway(local *localconf.Config, lg *slog.Logger) error {
	var cleanup stack
	defer cleanup.unwind()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	var plugins *plugin.Registry // set below, before any Lua runs
	luaRT := lua.NewRuntime(lua.Options{
		Budget: local.Sluice.Lua.Budget.Duration(),
		Logger: lg.With("component", "lua"),
		// require() of helper modules on extra_lua_path.
		Modules: func(name string) (*lua.Func, bool) {
			file, src, ok := lua.FindModule(plugins.LuaPath(), name)
			if !ok {
				return nil, false
			}
			f, err := lua.Compile(file, string(src))
			return f, err == nil
		},
	})
	cleanup.push(luaRT.Close) // after the proxy stops
	pipeline, plugins, err := newPipeline(local, lg, luaRT)
	if err != nil {
		return err
	}
	mode, err := trie.ParseMode(local.APISIX.Router.HTTP)
	if err != nil {
		return err
	}
	opts := engineOptions(local, lg)
	rlog, access, err := newRequestLog(local, plugins, opts.Loops, lg, &cleanup)
	if err != nil {
		return err
	}
	if rlog != nil {
		opts.AccessLog = rlog
	}
	if access != nil {
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		go reopenOnSignal(access, usr1, lg)
		cleanup.push(func() { signal.Stop(usr1); close(usr1) })
	}
	store := cfgsync.NewStore()
	var checks *health.Manager // nil: disable_upstream_healthcheck
	if !local.APISIX.DisableUpstreamHealthcheck {
		checks = health.NewManager(health.Options{Events: health.LoggingListener(lg.With("component", "health"))})
		cleanup.push(checks.Close) // after the config source stops
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resolver := discovery.New(discovery.Options{
		Servers: local.DNSServers(),
		Valid:   time.Duration(local.APISIX.DNSResolverValid) * time.Second,
		Logger:  lg.With("component", "discovery"),
	})
	go resolver.Run(ctx)
	cas, err := local.UpstreamCAs()
	if err != nil {
		return err
	}
	builder := &cfgsync.Builder{Mode: mode, Pipeline: pipeline, Plugins: plugins, Health: checks, Resolver: resolver, UpstreamCAs: cas,
		FilterFunc: luaFilterFunc(luaRT), Logger: lg.With("component", "plugin")}

	src, err := startSource(ctx, local, lg, store, builder, &cleanup)
	if err != nil {
		return err
	}
	select {
	case <-src.ready:
	case sig := <-sigs:
		return fmt.Errorf("%s before the first configuration load", sig)
	case <-time.After(startupTimeout(local)):
		return fmt.Errorf("no configuration after %v: is etcd at %v reachable? (sluice.startup_timeout)", startupTimeout(local), src.endpoints)
	}
	spareP(opts.Loops, lg) // after the first load: see spareP
	reload := func(ctx context.Context) error { return reloadPlugins(ctx, local, plugins, src, lg) }
	var proxy *engine.Server
	proxyDone := make(chan error, 1)
	if local.ServesTraffic() {
		if proxy, err = engine.New(opts, store); err != nil {
			return err
		}
	}
	// Ready (the control API's /status/ready) once the first load is
	// published and the proxy accepts connections: the control API starts
	// before the proxy, and a client that sends traffic as soon as it
	// reads 200 must not find the port closed.
	ready := func() bool {
		select {
		case <-src.ready:
		default:
			return false
		}
		if proxy == nil {
			return true
		}
		select {
		case <-proxy.Ready():
			return true
		default:
			return false
		}
	}

	serveErr := make(chan error, 3) // admin, control, prometheus export
	if local.AdminEnabled() {
		if src.etcd == nil {
			lg.Warn("no Admin API: with config_provider yaml the config is the file")
		} else {
			ao := adminOptions(local, lg, src, pipeline, plugins)
			ao.Reload = reload
			h := admin.New(ao)
			addr, err := local.AdminAddr()
			if err != nil {
				return err
			}
			if err := serveHTTP("admin", addr, h, lg, serveErr, &cleanup); err != nil {
				return err
			}
		}
	}
	if addr, err := local.ControlAddr(); err != nil {
		return err
	} else if addr != "" {
		control := &admin.Control{Store: store, Ready: ready, Health: checks, Reload: reload}
		if src.etcd != nil {
			control.Revision = src.etcd.Revision
		}
		if err := serveHTTP("control", addr, control, lg, serveErr, &cleanup); err != nil {
			return err
		}
	}

	if err := startExporter(local, plugins, proxy, src, store, lg, serveErr, &cleanup); err != nil {
		return err
	}
	if proxy != nil {
		go func() { proxyDone <- proxy.Serve() }()
	}

	select {
	case err := <-proxyDone:
		return fmt.Errorf("proxy: %w", err)
	case err := <-serveErr:
		return err
	case err := <-src.failed:
		return err
	case sig := <-sigs:
		lg.Info("shutting down", "signal", sig.String())
	}
	if proxy != nil {
		if err := proxy.Shutdown(context.Background()); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		if err := <-proxyDone; err != nil {
			return fmt.Errorf("proxy: %w", err)
		}
	}
	lg.Info("stopped")
	return nil
}

// newPipeline builds the plugin registry config.yaml asks for and the one
// validation pipeline every object goes through, whoever brings it: the
// Admin API's writes, the config source's reads, sluice validate.
func newPipeline(local *localconf.Config, lg *slog.Logger, rt *lua.Runtime) (*config.Pipeline, *plugin.Registry, error) {
	keyring, err := local.Keyring()
	if err != nil {
		return nil, nil, err
	}
	plugins, err := plugin.NewRegistry(local.Plugins, lg.With("component", "plugin"), plugin.WithLua(rt))
	if err != nil {
		return nil, nil, err
	}
	if local.APISIX.ExtraLuaPath != "" {
		if err := plugins.Reload(local.Plugins, local.APISIX.ExtraLuaPath); err != nil {
			return nil, nil, fmt.Errorf("loading Lua plugins from %s: %w", local.APISIX.ExtraLuaPath, err)
		}
	}
	return &config.Pipeline{Keyring: keyring, Plugins: plugins}, plugins, nil
}

// reloadPlugins is plugins reload (Admin API and control API): config.yaml
// read again for its plugins list and extra_lua_path, the Lua plugin files
// compiled and swapped in (nothing changes if one fails), then the whole
// configuration recompiled on the source's goroutine and published.
// Requests in flight finish on the code they started with.
func reloadPlugins(ctx context.Context, local *localconf.Config, plugins *plugin.Registry, src *source, lg *slog.Logger) error {
	names, path := local.Plugins, local.APISIX.ExtraLuaPath
	if local.File != "" {
		fresh, err := localconf.Load(local.File)
		if err != nil {
			return err
		}
		names, path = fresh.Plugins, fresh.APISIX.ExtraLuaPath
	}
	if err := plugins.Reload(names, path); err != nil {
		lg.Error("plugins reload refused; the running plugins stay", "err", err)
		return err
	}
	if err := src.rebuild(ctx); err != nil {
		return err
	}
	lg.Info("plugins reloaded", "enabled", len(plugins.List()))
	return nil
}

// luaFilterFunc compiles a route's filter_func for the router: the Lua runs
// on the matching request's loop VM with the request's variables.
func luaFilterFunc(rt *lua.Runtime) func(src string) (trie.Filter, error) {
	return func(src string) (trie.Filter, error) {
		f, err := lua.CompileFilter(src)
		if err != nil {
			return nil, err
		}
		return &luaFilter{rt: rt, f: f}, nil
	}
}

// luaFilter is the router's view of a compiled filter_func (the router
// asks a trie.Filter; Lua answers for a request context).
type luaFilter struct {
	rt *lua.Runtime
	f  *lua.Func
}

func (lf *luaFilter) Match(q *trie.Query) bool {
	c, ok := q.Vars.(*reqctx.Ctx)
	return ok && lf.rt.VM(c.Loop).Match(c, lf.f)
}

// source is the running config source.
type source struct {
	ready     <-chan struct{}
	failed    <-chan error
	etcd      *cfgsync.EtcdSource // nil for a yaml source
	endpoints []string
	prefix    string
	// rebuild recompiles everything on the source's goroutine (plugins
	// reload).
	rebuild func(ctx context.Context) error
}

func startSource(ctx context.Context, local *localconf.Config, lg *slog.Logger, store *cfgsync.Store, b *cfgsync.Builder, cleanup *stack) (*source, error) {
	slg := lg.With("component", "sync")
	failed := make(chan error, 1)
	if local.Provider == localconf.ProviderYAML {
		y := &cfgsync.YAMLSource{Path: local.StandaloneFile(), Store: store, Builder: b, Logger: slg}
		if err := y.Load(); err != nil {
			return nil, err
		}
		go y.Run(ctx)
		ready := make(chan struct{})
		close(ready)
		return &source{ready: ready, failed: failed, rebuild: y.Rebuild}, nil
	}
	endpoints := etcdEndpoints(local)
	if emb := local.Sluice.EmbeddedEtcd; emb.Enable {
		e, err := embedetcd.Start(embedetcd.Options{DataDir: emb.DataDir, ClientAddr: emb.ClientListen, PeerAddr: emb.PeerListen})
		if err != nil {
			return nil, err
		}
		cleanup.push(e.Close)
		endpoints = []string{e.Endpoint}
		lg.Info("embedded etcd started", "client_url", e.Endpoint, "data_dir", emb.DataDir)
		go func() {
			if err, ok := <-e.Err(); ok && err != nil {
				failed <- fmt.Errorf("embedded etcd: %w", err)
			}
		}()
	}
	etcdConf := local.Deployment.Etcd
	cli, err := cfgsync.DialEtcd(cfgsync.EtcdOptions{Endpoints: endpoints, Username: etcdConf.User, Password: etcdConf.Password})
	if err != nil {
		return nil, err
	}
	cleanup.push(func() { _ = cli.Close() })
	es := &cfgsync.EtcdSource{
		Client:         cli,
		Prefix:         etcdConf.Prefix,
		Store:          store,
		Builder:        b,
		RequestTimeout: local.EtcdTimeout(),
		Logger:         slg,
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { es.Run(sctx); close(done) }()
	cleanup.push(func() { stop(); <-done })
	lg.Info("syncing config from etcd", "endpoints", endpoints, "prefix", etcdConf.Prefix)
	return &source{ready: es.Ready(), failed: failed, etcd: es, endpoints: endpoints, prefix: etcdConf.Prefix, rebuild: es.Rebuild}, nil
}

func etcdEndpoints(local *localconf.Config) []string {
	if local.Sluice.EmbeddedEtcd.Enable {
		return []string{"http://" + local.Sluice.EmbeddedEtcd.ClientListen}
	}
	return local.Deployment.Etcd.Host
}

func startupTimeout(local *localconf.Config) time.Duration {
	if d := local.Sluice.StartupTimeout.Duration(); d > 0 {
		return d
	}
	return time.Minute
}

// adminOptions maps deployment.admin onto the Admin API. A key configured
// empty is replaced by a random one, logged once: there is never an Admin
// API without a key unless admin_key_required is false.
func adminOptions(local *localconf.Config, lg *slog.Logger, src *source, p *config.Pipeline, plugins *plugin.Registry) admin.Options {
	a := local.Deployment.Admin
	o := admin.Options{
		Client:         src.etcd.Client,
		Prefix:         src.prefix,
		KeyRequired:    a.AdminKeyRequired == nil || *a.AdminKeyRequired,
		AllowAdmin:     a.Allow,
		CORS:           a.EnableAdminCORS == nil || *a.EnableAdminCORS,
		Pipeline:       p,
		Plugins:        plugins,
		RequestTimeout: local.EtcdTimeout(),
		ServerHeader:   serverHeader(local),
		Logger:         lg.With("component", "admin"),
	}
	keys := a.AdminKey
	if len(keys) == 0 {
		keys = append(keys, struct {
			Name string `json:"name"`
			Key  string `json:"key"`
			Role string `json:"role"`
		}{Name: "admin", Role: "admin"})
	}
	for _, k := range keys {
		key := k.Key
		if key == "" && o.KeyRequired {
			key = randomKey()
			lg.Warn("generated an admin key; it is not saved, set deployment.admin.admin_key to keep one", "name", k.Name, "role", k.Role, "key", key)
		}
		o.Keys = append(o.Keys, admin.Key{Name: k.Name, Key: key, Role: admin.Role(k.Role)})
	}
	return o
}

// randomKey returns 32 random letters, like APISIX's generated keys.
func randomKey() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// serveHTTP listens on addr now (so a busy port fails start-up) and serves
// h in the background with timeouts on every phase of a request.
func serveHTTP(name, addr string, h http.Handler, lg *slog.Logger, errs chan<- error, cleanup *stack) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s API: %w", name, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(lg.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("%s API: %w", name, err)
		}
	}()
	cleanup.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	lg.Info(name+" API listening", "addr", ln.Addr().String())
	return nil
}

func serverHeader(local *localconf.Config) string {
	if local.ServerTokens() {
		return "sluice/" + version
	}
	return "sluice"
}

// spareP gives the Go scheduler one P more than there are event loops,
// unless GOMAXPROCS is set in the environment. A loop with traffic does not
// park: it polls its own epoll, and when idle blocks in epoll_wait holding
// its P. Goroutines woken by Go's network poller (the etcd watch, the
// Admin and control APIs, Redis calls that plugins park requests on) then
// got a P only when sysmon retook one, up to 10 ms later, several times per
// Admin write. With the spare P, on one CPU, same box and run: an Admin PUT
// at 1M routes went from p50 21 ms to 2-10 ms, and limit-count-redis from
// 15.3K to 21.2K req/s at 24% less CPU a request; no-plugin was unchanged.
// The cost is that on a CPU a loop shares, that work now preempts the loop
// instead of waiting for it: traffic p99 during a burst of config writes
// rose (BENCHMARKS.md, issue 13). Tried instead: parking idle loops in
// Go's poller (a gnet patch) cost the plain data path 3-5% CPU a request.
//
// It runs after the first load: on one CPU, a 1M-route load with two Ps
// took about 1.5 s longer (measured; the cause was not isolated).
func spareP(loops int, lg *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	runtime.GOMAXPROCS(loops + 1)
	lg.Debug("scheduler", "loops", loops, "gomaxprocs", loops+1)
}

// engineOptions maps config.yaml onto engine options.
func engineOptions(local *localconf.Config, lg *slog.Logger) engine.Options {
	h := &local.NginxConfig.HTTP
	opts := engine.Options{
		Listen:              local.Listen,
		Loops:               local.Sluice.Loops,
		ClientHeaderTimeout: h.ClientHeaderTimeout.Duration(),
		ClientBodyTimeout:   h.ClientBodyTimeout.Duration(),
		KeepaliveTimeout:    h.KeepaliveTimeout.Duration(),
		SendTimeout:         h.SendTimeout.Duration(),
		KeepalivePoolSize:   h.Upstream.Keepalive,
		KeepaliveRequests:   h.Upstream.KeepaliveRequests,
		KeepaliveIdle:       h.Upstream.KeepaliveTimeout.Duration(),
		HighWater:           int(local.Sluice.HighWater),
		Workers:             local.Sluice.Workers,
		ParkQueue:           local.Sluice.ParkQueue,
		TrustedAddresses:    local.Trusted,
		ServerHeader:        serverHeader(local),
		ShutdownGrace:       local.Sluice.ShutdownGrace.Duration(),
		Logger:              lg.With("component", "engine"),
	}
	opts.Limits.MaxBodyBytes = int64(h.ClientMaxBodySize)
	if opts.Loops <= 0 {
		opts.Loops = runtime.GOMAXPROCS(0)
	}
	return opts
}

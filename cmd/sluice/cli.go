package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/engine"
	cfgsync "github.com/sluicegw/sluice/sync"
	"github.com/sluicegw/sluice/trie"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

const usage = `usage: sluice <command> [flags]

commands:
  run       run the gateway (-c config.yaml)
  validate  check config.yaml and the config it points at (-c config.yaml)
  version   print the version
`

// run is the whole CLI: it parses args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "sluice %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sluice: unknown command %q\n%s", args[0], usage)
	return 2
}

// commonFlags are shared by run and validate.
type commonFlags struct {
	configPath string
	logLevel   string
	cpuProfile string
}

func parseFlags(name string, args []string, stderr io.Writer) (*commonFlags, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &commonFlags{}
	fs.StringVar(&f.configPath, "c", "conf/config.yaml", "path of config.yaml (APISIX format)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	if name == "run" {
		fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return f, nil
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("bad -log-level %q", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags("validate", args, stderr)
	if err != nil {
		return 2
	}
	local, err := config.LoadLocal(f.configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := checkSupported(local); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	data, err := os.ReadFile(local.StandaloneFile())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	changes, err := cfgsync.ParseYAML(data)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", local.StandaloneFile(), err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d objects)\n", local.StandaloneFile(), len(changes))
	return 0
}

// checkSupported rejects deployments this build cannot run yet.
func checkSupported(local *config.Local) error {
	if local.Deployment.Role != config.RoleDataPlane || local.Deployment.RoleDataPlane.ConfigProvider != config.ProviderYAML {
		return errors.New("sluice: only deployment.role data_plane with role_data_plane.config_provider yaml is supported in this build")
	}
	return nil
}

func cmdRun(args []string, stderr io.Writer) int {
	f, err := parseFlags("run", args, stderr)
	if err != nil {
		return 2
	}
	lg, err := newLogger(f.logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if f.cpuProfile != "" {
		out, err := os.Create(f.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := runGateway(f, lg); err != nil {
		lg.Error("sluice stopped", "err", err)
		return 1
	}
	return 0
}

func runGateway(f *commonFlags, lg *slog.Logger) error {
	local, err := config.LoadLocal(f.configPath)
	if err != nil {
		return err
	}
	if err := checkSupported(local); err != nil {
		return err
	}
	opts := engineOptions(local, lg)
	mode, err := trie.ParseMode(local.APISIX.Router.HTTP)
	if err != nil {
		return err
	}
	store := cfgsync.NewStore()
	src := &cfgsync.YAMLSource{
		Path:    local.StandaloneFile(),
		Store:   store,
		Builder: &cfgsync.Builder{Loops: opts.Loops, Mode: mode},
		Logger:  lg.With("component", "sync"),
	}
	if err := src.Load(); err != nil {
		return err
	}
	srv, err := engine.New(opts, store)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go src.Run(ctx)

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve() }()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	select {
	case err := <-serveErr:
		return err
	case sig := <-sigs:
		lg.Info("shutting down", "signal", sig.String())
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil {
		return err
	}
	lg.Info("stopped")
	return nil
}

// engineOptions maps config.yaml onto engine options.
func engineOptions(local *config.Local, lg *slog.Logger) engine.Options {
	h := &local.NginxConfig.HTTP
	server := "sluice"
	if local.ServerTokens() {
		server += "/" + version
	}
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
		TrustedAddresses:    local.Trusted,
		ServerHeader:        server,
		ShutdownGrace:       local.Sluice.ShutdownGrace.Duration(),
		Logger:              lg.With("component", "engine"),
	}
	opts.Limits.MaxBodyBytes = int64(h.ClientMaxBodySize)
	if opts.Loops <= 0 {
		opts.Loops = runtime.GOMAXPROCS(0)
	}
	return opts
}

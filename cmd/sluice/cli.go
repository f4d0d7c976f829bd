package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/sluicegw/sluice/localconf"
	"github.com/sluicegw/sluice/lua"
	cfgsync "github.com/sluicegw/sluice/sync"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "0.1.0-dev"

const usage = `usage: sluice <command> [flags]

commands:
  run       run the gateway (-c config.yaml; without one, on an embedded etcd)
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

// defaultConfigPath is read when -c is not given, if it exists.
const defaultConfigPath = "conf/config.yaml"

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
	fs.StringVar(&f.configPath, "c", "", "path of config.yaml (APISIX format); default "+defaultConfigPath+" if it exists, else built-in defaults (embedded etcd)")
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
		return nil, fmt.Errorf("bad -log-level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// loadLocal reads config.yaml. With no -c and no conf/config.yaml it
// returns the built-in default: a traditional node on an embedded etcd,
// the zero-setup start.
func loadLocal(path string) (*localconf.Config, string, error) {
	if path == "" {
		if _, err := os.Stat(defaultConfigPath); err != nil {
			local, err := localconf.Parse(nil)
			if err != nil {
				return nil, "", err
			}
			local.Sluice.EmbeddedEtcd.Enable = true
			return local, "(built-in defaults)", nil
		}
		path = defaultConfigPath
	}
	local, err := localconf.Load(path)
	return local, path, err
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags("validate", args, stderr)
	if err != nil {
		return 2
	}
	local, path, err := loadLocal(f.configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	lg := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt := lua.NewRuntime(lua.Options{Logger: lg})
	defer rt.Close()
	pipeline, _, err := newPipeline(local, lg, rt)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if local.Provider != localconf.ProviderYAML {
		fmt.Fprintf(stdout, "%s: ok (config from etcd %v, prefix %s)\n", path, etcdEndpoints(local), local.Deployment.Etcd.Prefix)
		return 0
	}
	data, err := os.ReadFile(local.StandaloneFile())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// The pipeline the running node would use (runGateway's).
	changes, err := cfgsync.ParseYAMLWith(pipeline, data)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", local.StandaloneFile(), err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d objects)\n", local.StandaloneFile(), len(changes))
	return 0
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
	local, path, err := loadLocal(f.configPath)
	if err != nil {
		lg.Error("sluice did not start", "err", err)
		return 1
	}
	lg.Info("starting", "version", version, "config", path, "role", local.Deployment.Role, "provider", local.Provider)
	if err := runGateway(local, lg); err != nil {
		lg.Error("sluice stopped", "err", err)
		return 1
	}
	return 0
}

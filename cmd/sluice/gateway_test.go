package main

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/sluicegw/sluice/localconf"
)

// config.yaml's engine settings reach the engine, nginx's units decoded.
func TestEngineOptionsFromConfig(t *testing.T) {
	local, err := localconf.Parse([]byte(`
nginx_config:
  http:
    keepalive_timeout: 7s
    client_max_body_size: 2m
    upstream: {keepalive: 9, keepalive_requests: 11, keepalive_timeout: 13s}
sluice: {loops: 3, workers: 5, park_queue: 17, high_water: 1m, shutdown_grace: 2s}
`))
	if err != nil {
		t.Fatal(err)
	}
	o := engineOptions(local, slog.New(slog.DiscardHandler))
	if o.Loops != 3 || o.Workers != 5 || o.ParkQueue != 17 || o.HighWater != 1<<20 || o.ShutdownGrace != 2*time.Second ||
		o.KeepaliveTimeout != 7*time.Second || o.Limits.MaxBodyBytes != 2<<20 ||
		o.KeepalivePoolSize != 9 || o.KeepaliveRequests != 11 || o.KeepaliveIdle != 13*time.Second {
		t.Fatalf("%+v", o)
	}
}

// Go gets one P more than the loops, unless GOMAXPROCS says otherwise.
func TestSparePBesideTheLoops(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	lg := slog.New(slog.DiscardHandler)
	t.Setenv("GOMAXPROCS", "")
	spareP(3, lg)
	if got := runtime.GOMAXPROCS(0); got != 4 {
		t.Fatalf("GOMAXPROCS %d with 3 loops, want 4", got)
	}
	t.Setenv("GOMAXPROCS", "2")
	spareP(5, lg)
	if got := runtime.GOMAXPROCS(0); got != 4 {
		t.Fatalf("GOMAXPROCS set in the environment was overridden: %d", got)
	}
}

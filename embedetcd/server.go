package embedetcd

import (
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// DefaultStartTimeout bounds start-up when Options.StartTimeout is zero.
const DefaultStartTimeout = time.Minute

// Options configure the in-process etcd (config.yaml's
// sluice.embedded_etcd).
type Options struct {
	// DataDir holds etcd's data; it survives restarts.
	DataDir string
	// ClientAddr is "ip:port" for clients (the gateway itself, etcdctl,
	// other sluice nodes). Keep it on loopback unless other nodes need it.
	ClientAddr string
	// PeerAddr is "ip:port" for raft peers; a single node still needs one.
	PeerAddr string
	// StartTimeout bounds start-up; zero means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Server is a single-node etcd server inside the sluice process: the
// zero-setup default. Clients (the Admin API, the watcher, etcdctl, other
// sluice nodes) talk to it exactly as to a cluster.
type Server struct {
	etcd      *embed.Etcd
	closeOnce sync.Once
	// Endpoint is the client URL, e.g. "http://127.0.0.1:2379".
	Endpoint string
}

// Start starts the server and waits until it serves.
func Start(o Options) (*Server, error) {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedetcd: data dir: %w", err)
	}
	client, err := url.Parse("http://" + o.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: client address %q: %w", o.ClientAddr, err)
	}
	peer, err := url.Parse("http://" + o.PeerAddr)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: peer address %q: %w", o.PeerAddr, err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "sluice"
	cfg.Dir = o.DataDir
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// Keep an hour of history: enough for any watcher to catch up, and the
	// database does not grow without bound under config churn.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: starting in %s: %w", o.DataDir, err)
	}
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedetcd: %w", err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedetcd: not ready after %v", timeout)
	}
	return &Server{etcd: e, Endpoint: client.String()}, nil
}

// Err reports a fatal server error after start.
func (e *Server) Err() <-chan error { return e.etcd.Err() }

// Close stops the server. Close the clients first: the server waits (up
// to its request timeout) for open streams such as watches to end.
func (e *Server) Close() { e.closeOnce.Do(e.etcd.Close) }

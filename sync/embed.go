package sync

import (
	"fmt"
	"net/url"
	"os"
	stdsync "sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// EmbeddedOptions configures the in-process etcd (sluice.embedded_etcd).
type EmbeddedOptions struct {
	// DataDir holds etcd's data; it survives restarts.
	DataDir string
	// ClientAddr is "ip:port" for clients (the gateway itself, etcdctl,
	// other sluice nodes). Keep it on loopback unless other nodes need it.
	ClientAddr string
	// PeerAddr is "ip:port" for raft peers; a single node still needs one.
	PeerAddr string
	// StartTimeout bounds start-up; zero means 60 s.
	StartTimeout time.Duration
}

// EmbeddedEtcd is a single-node etcd server inside the sluice process: the
// zero-setup default. Clients (the Admin API, the watcher, etcdctl, other
// sluice nodes) talk to it exactly as to a cluster.
type EmbeddedEtcd struct {
	etcd      *embed.Etcd
	closeOnce stdsync.Once
	// Endpoint is the client URL, e.g. "http://127.0.0.1:2379".
	Endpoint string
}

// StartEmbeddedEtcd starts the server and waits until it serves.
func StartEmbeddedEtcd(o EmbeddedOptions) (*EmbeddedEtcd, error) {
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sync: embedded etcd data dir: %w", err)
	}
	client, err := url.Parse("http://" + o.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("sync: embedded etcd client address %q: %w", o.ClientAddr, err)
	}
	peer, err := url.Parse("http://" + o.PeerAddr)
	if err != nil {
		return nil, fmt.Errorf("sync: embedded etcd peer address %q: %w", o.PeerAddr, err)
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
		return nil, fmt.Errorf("sync: starting embedded etcd in %s: %w", o.DataDir, err)
	}
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("sync: embedded etcd: %w", err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("sync: embedded etcd not ready after %v", timeout)
	}
	return &EmbeddedEtcd{etcd: e, Endpoint: client.String()}, nil
}

// Err reports a fatal server error after start.
func (e *EmbeddedEtcd) Err() <-chan error { return e.etcd.Err() }

// Close stops the server. Close the clients first: the server waits (up
// to its request timeout) for open streams such as watches to end.
func (e *EmbeddedEtcd) Close() { e.closeOnce.Do(e.etcd.Close) }

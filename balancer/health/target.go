package health

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sluicegw/sluice/config"
)

// State is a target's health as lua-resty-healthcheck tracks it. The two
// "mostly" states are on the way from one side to the other: a healthy
// target that has started failing stays in traffic (mostly_healthy); an
// unhealthy one that has started succeeding stays out (mostly_unhealthy).
type State uint8

// Target states. The zero value is Healthy: targets start healthy.
const (
	Healthy State = iota
	Unhealthy
	MostlyHealthy
	MostlyUnhealthy
)

var stateNames = [...]string{"healthy", "unhealthy", "mostly_healthy", "mostly_unhealthy"}

func (s State) String() string { return stateNames[s] }

// Down reports whether traffic avoids a target in state s: unhealthy and
// mostly_unhealthy (lua-resty-healthcheck's get_target_status is false).
func (s State) Down() bool { return s == Unhealthy || s == MostlyUnhealthy }

// A target's counters are four 8-bit fields of one word, as
// lua-resty-healthcheck keeps them in its shm: successes, HTTP failures,
// TCP failures and timeouts. The state sits above them, so one
// compare-and-swap moves counters and state together.
const (
	ctrSuccess = 0
	ctrHTTP    = 8
	ctrTCP     = 16
	ctrTimeout = 24

	maskSuccess = 0x000000ff
	maskFailure = 0xffffff00
	stateShift  = 32
)

// target is one probed address of a checker group: the node's host and
// port (or checks.active.port), under a hostname and Host header. Several
// nodes may share one target (checks.active.port makes every node of a host
// the same target, as in APISIX).
type target struct {
	key        string // ip:port:hostname:hostheader, APISIX's target identity
	ip         string
	port       int
	hostname   string
	hostHeader string // set for pass_host rewrite and domain nodes
	addr       string // dial address

	request []byte      // the probe request, built once (http, https)
	tls     *tls.Config // https probes

	// word is state<<32 | counters. Updated by compare-and-swap from
	// event loops (passive) and probe goroutines (active).
	word atomic.Uint64

	refs int   // checker nodes naming this target; group.mu
	seen State // state last reported in events; group.mu
}

func (t *target) state() State { return State(t.word.Load() >> stateShift) }

// count applies one report to t, with lua-resty-healthcheck's incr_counter
// rules: a limit of 0 disables the counter; a fully healthy target does not
// count successes, nor a fully unhealthy one failures; a success clears the
// failure counters and a failure the success counter; reaching limit moves
// the target to that side, and the first report against its state moves it
// to the "mostly" state. It reports whether the state changed. Lock-free and
// allocation-free: safe from any goroutine.
func (t *target) count(ctr uint, limit int) bool {
	if limit <= 0 {
		return false
	}
	success := ctr == ctrSuccess
	for {
		old := t.word.Load()
		st := State(old >> stateShift)
		if success && st == Healthy || !success && st == Unhealthy {
			return false
		}
		c := uint32(old)
		n := c >> ctr & 0xff
		if n < 0xff {
			n++
		}
		c = c&^(0xff<<ctr) | n<<ctr
		if success {
			c &= maskSuccess
		} else {
			c &= maskFailure
		}
		next := st
		switch {
		case int(n) >= limit && success:
			next = Healthy
		case int(n) >= limit:
			next = Unhealthy
		case st == Healthy && c&maskFailure != 0:
			next = MostlyHealthy
		case st == Unhealthy && c&maskSuccess != 0:
			next = MostlyUnhealthy
		}
		if t.word.CompareAndSwap(old, uint64(next)<<stateShift|uint64(c)) {
			return next != st
		}
	}
}

// snapshot returns t's state and counters, read together.
func (t *target) snapshot() (State, Counters) {
	w := t.word.Load()
	c := uint32(w)
	return State(w >> stateShift), Counters{
		Success:        int(c >> ctrSuccess & 0xff),
		HTTPFailure:    int(c >> ctrHTTP & 0xff),
		TCPFailure:     int(c >> ctrTCP & 0xff),
		TimeoutFailure: int(c >> ctrTimeout & 0xff),
	}
}

// targetFor describes the target node (a "host:port" address) maps to
// under checks, APISIX's compute_targets: the port is checks.active.port or
// the node's; the hostname is checks.active.host or the node's host; the
// Host header (and TLS server name) of probes is upstream_host under
// pass_host rewrite, else a domain node's own name, else the hostname.
//
// name, when not empty, is the host name a resolved node was configured
// with: it stands for the node's host as hostname and Host header.
func (m *Manager) targetFor(ck *config.Checks, u *config.Upstream, node, name string) *target {
	a := &ck.Active
	host, portStr, err := net.SplitHostPort(node)
	if err != nil {
		host, portStr = node, "80"
	}
	port, _ := strconv.Atoi(portStr)
	if a.Port != 0 {
		port = a.Port
	}
	_, ipErr := netip.ParseAddr(host)
	domain := ipErr != nil
	t := &target{ip: host, port: port, hostname: host, addr: net.JoinHostPort(host, strconv.Itoa(port))}
	if name != "" {
		host, t.hostname, domain = name, name, true
	}
	if a.Host != "" {
		t.hostname = a.Host
	}
	switch {
	case u.PassHost == config.PassHostRewrite:
		t.hostHeader = u.UpstreamHost
	case domain:
		t.hostHeader = host
	}
	t.key = t.ip + ":" + strconv.Itoa(port) + ":" + t.hostname + ":" + t.hostHeader
	sent := t.hostHeader
	if sent == "" {
		sent = t.hostname
	}
	if a.Kind != config.CheckTCP {
		t.request = probeRequest(a, sent)
	}
	if a.Kind == config.CheckHTTPS {
		t.tls = &tls.Config{
			ServerName:         strings.Trim(sent, "[]"),
			InsecureSkipVerify: !a.HTTPSVerifyCertificate, // the user's choice: https_verify_certificate false
			RootCAs:            m.o.RootCAs,
			MinVersion:         tls.VersionTLS12,
		}
	}
	return t
}

// probeRequest is the request an http or https probe sends:
// lua-resty-healthcheck's "GET <path> HTTP/1.1", Connection: close, the
// req_headers lines, then Host. Unlike it, http_method and http_req_body
// are honoured (the schema accepts them; sending GET regardless would
// surprise whoever set HEAD).
func probeRequest(a *config.ActiveCheck, host string) []byte {
	if addr, err := netip.ParseAddr(host); err == nil && addr.Is6() {
		host = "[" + host + "]"
	}
	b := make([]byte, 0, 128)
	b = append(b, a.HTTPMethod...)
	b = append(b, ' ')
	b = append(b, a.HTTPPath...)
	b = append(b, " HTTP/1.1\r\nConnection: close\r\n"...)
	for _, h := range a.ReqHeaders {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Host: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	if a.HTTPReqBody != "" || a.HTTPMethod == "POST" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(a.HTTPReqBody)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, a.HTTPReqBody...)
}

package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Balancer is an upstream's load-balancing algorithm, decoded once.
type Balancer uint8

// Balancers APISIX implements.
const (
	RoundRobin Balancer = iota
	CHash
	EWMA
	LeastConn
)

var balancerNames = [...]string{"roundrobin", "chash", "ewma", "least_conn"}

func (b Balancer) String() string { return balancerNames[b] }

// PassHost says which Host header goes upstream.
type PassHost uint8

// pass_host values.
const (
	PassHostPass    PassHost = iota // the client's Host, as received
	PassHostNode                    // the node's host (and port if not the scheme default)
	PassHostRewrite                 // upstream_host
)

var passHostNames = [...]string{"pass", "node", "rewrite"}

func (p PassHost) String() string { return passHostNames[p] }

// HashOn says where chash takes its key from (hash_on).
type HashOn uint8

// hash_on values.
const (
	HashVars             HashOn = iota // a request variable named by key (default)
	HashHeader                         // the request header named by key
	HashCookie                         // the cookie named by key
	HashConsumer                       // the authenticated consumer's name
	HashVarsCombinations               // key is a template of $variables
)

var hashOnNames = [...]string{"vars", "header", "cookie", "consumer", "vars_combinations"}

func (h HashOn) String() string { return hashOnNames[h] }

// Scheme is the protocol spoken to an upstream's nodes.
type Scheme uint8

// Schemes sluice proxies to. APISIX's others (grpc, grpcs, and the stream
// schemes tcp, tls, udp, kafka) are refused by Normalize.
const (
	SchemeHTTP  Scheme = iota // HTTP/1.1 over TCP
	SchemeHTTPS               // HTTP/1.1 over TLS
)

var schemeNames = [...]string{"http", "https"}

func (s Scheme) String() string { return schemeNames[s] }

// DefaultPort is the port of a node that names none (APISIX fills 80 or
// 443 from the scheme).
func (s Scheme) DefaultPort() int {
	if s == SchemeHTTPS {
		return 443
	}
	return 80
}

// Discovery says where an upstream's nodes come from.
type Discovery uint8

// Node sources.
const (
	DiscoveryNone Discovery = iota // the nodes field
	DiscoveryDNS                   // service_name resolved through DNS (A, AAAA, SRV)
)

// UpstreamTLS is an upstream's tls field: the client certificate for
// mTLS (inline, or an ssl object of type client by id) and whether the
// upstream's certificate is verified.
type UpstreamTLS struct {
	ClientCert   string `json:"client_cert,omitempty"`
	ClientKey    string `json:"client_key,omitempty"`
	ClientCertID ID     `json:"client_cert_id,omitzero"`
	// Verify turns on verification of the upstream's certificate chain
	// and name (the SNI) against the trusted CAs. Default false, as
	// APISIX's (nginx's proxy_ssl_verify off).
	Verify bool `json:"verify,omitempty"`
}

// Node is one upstream server after normalisation.
type Node struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Weight   int    `json:"weight"`
	Priority int    `json:"priority,omitempty"`
}

// Addr returns "host:port" (IPv6 hosts keep their brackets).
func (n *Node) Addr() string { return n.Host + ":" + strconv.Itoa(n.Port) }

// Keepalive is an upstream's keepalive_pool; zero fields take the engine's
// defaults (APISIX: 320 idle connections, 1000 requests, 60 s idle).
type Keepalive struct {
	Size        int     `json:"size,omitempty"`
	IdleTimeout Seconds `json:"idle_timeout,omitempty"`
	Requests    int     `json:"requests,omitempty"`
}

// Upstream is an APISIX upstream object.
type Upstream struct {
	ID            ID                `json:"id,omitzero"`
	Name          string            `json:"name,omitempty"`
	Desc          string            `json:"desc,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
	Type          string            `json:"type,omitempty"`
	Nodes         Nodes             `json:"nodes"`
	Retries       *int              `json:"retries,omitempty"`
	RetryTimeout  *Seconds          `json:"retry_timeout,omitempty"`
	Timeout       *Timeout          `json:"timeout,omitempty"`
	Scheme        string            `json:"scheme,omitempty"`
	PassHostName  string            `json:"pass_host,omitempty"`
	UpstreamHost  string            `json:"upstream_host,omitempty"`
	HashOn        string            `json:"hash_on,omitempty"`
	Key           string            `json:"key,omitempty"`
	KeepalivePool *Keepalive        `json:"keepalive_pool,omitempty"`
	ServiceName   string            `json:"service_name,omitempty"`
	DiscoveryType string            `json:"discovery_type,omitempty"`
	DiscoveryArgs map[string]any    `json:"discovery_args,omitempty"`
	TLS           *UpstreamTLS      `json:"tls,omitempty"`
	CreateTime    int64             `json:"create_time,omitempty"`
	UpdateTime    int64             `json:"update_time,omitempty"`

	// Checks, when set, health-checks the nodes; decoding fills APISIX's
	// defaults and compiles it (checks.go).
	Checks *Checks `json:"checks,omitempty"`

	// Decoded forms, set by Normalize.
	Balancer   Balancer  `json:"-"`
	PassHost   PassHost  `json:"-"`
	HashSource HashOn    `json:"-"`
	Proto      Scheme    `json:"-"`
	Discovery  Discovery `json:"-"`
}

// Nodes is the nodes field: APISIX accepts a map {"host:port": weight} or an
// array of {host, port, weight, priority}. Both decode into a list sorted
// for determinism (map form by address, array form in given order).
type Nodes []Node

// UnmarshalJSON accepts both node forms.
func (ns *Nodes) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var m map[string]int
		if err := json.Unmarshal(b, &m); err != nil {
			return fmt.Errorf("%w: nodes: %w", ErrInvalid, err)
		}
		out := make(Nodes, 0, len(m))
		for addr, w := range m {
			host, port, err := splitNodeAddr(addr)
			if err != nil {
				return err
			}
			out = append(out, Node{Host: host, Port: port, Weight: w})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Addr() < out[j].Addr() })
		*ns = out
		return nil
	}
	var list []struct {
		Host     string         `json:"host"`
		Port     *int           `json:"port"`
		Weight   *int           `json:"weight"`
		Priority int            `json:"priority"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return fmt.Errorf("%w: nodes: %w", ErrInvalid, err)
	}
	out := make(Nodes, 0, len(list))
	for _, n := range list {
		if n.Host == "" || n.Weight == nil {
			return fmt.Errorf("%w: nodes: host and weight are required", ErrInvalid)
		}
		port := 0
		if n.Port != nil {
			port = *n.Port
		}
		out = append(out, Node{Host: n.Host, Port: port, Weight: *n.Weight, Priority: n.Priority})
	}
	*ns = out
	return nil
}

// splitNodeAddr splits "host[:port]"; a missing port is filled from the
// scheme later (80/443).
func splitNodeAddr(addr string) (string, int, error) {
	if strings.HasPrefix(addr, "[") {
		end := strings.IndexByte(addr, ']')
		if end < 0 {
			return "", 0, invalidf("invalid node address %q", addr)
		}
		if end == len(addr)-1 {
			return addr, 0, nil
		}
		if addr[end+1] != ':' {
			return "", 0, invalidf("invalid node address %q", addr)
		}
		p, err := strconv.Atoi(addr[end+2:])
		if err != nil {
			return "", 0, invalidf("invalid port in node address %q", addr)
		}
		return addr[:end+1], p, nil
	}
	if strings.Count(addr, ":") > 1 {
		return "", 0, invalidf("IPv6 address must be enclosed with '[' and ']'")
	}
	host, portStr, found := strings.Cut(addr, ":")
	if !found {
		return host, 0, nil
	}
	p, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, invalidf("invalid port in node address %q", addr)
	}
	return host, p, nil
}

// ObjectID implements Object.
func (u *Upstream) ObjectID() string { return u.ID.S }

var (
	hashVarsKey   = regexp.MustCompile(`^((uri|server_name|server_addr|request_uri|remote_port|remote_addr|query_string|host|hostname|mqtt_client_id)|arg_[0-9a-zA-z_-]+)$`)
	hashHeaderKey = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
)

// Normalize fills u's decoded fields and defaults and checks what the
// schema cannot express (APISIX's check_upstream_conf). It assumes the
// upstream schema has accepted the object.
func (u *Upstream) Normalize() error {
	switch u.Type {
	case "", "roundrobin":
		u.Type, u.Balancer = "roundrobin", RoundRobin
	case "chash":
		u.Balancer = CHash
	case "ewma":
		u.Balancer = EWMA
	case "least_conn":
		u.Balancer = LeastConn
	}
	switch u.Scheme {
	case "", "http":
		u.Scheme, u.Proto = "http", SchemeHTTP
	case "https":
		u.Proto = SchemeHTTPS
	default:
		return invalidf("upstream scheme %s is not supported by sluice yet (only http and https)", u.Scheme)
	}
	switch u.DiscoveryType {
	case "":
		if u.ServiceName != "" {
			return invalidf("service_name %s needs a discovery_type", u.ServiceName)
		}
	case "dns":
		u.Discovery = DiscoveryDNS
		if u.ServiceName == "" {
			return invalidf("discovery_type dns needs a service_name")
		}
		if _, _, err := splitNodeAddr(u.ServiceName); err != nil {
			return err
		}
	default:
		return invalidf("discovery_type %s is not supported by sluice yet (only dns)", u.DiscoveryType)
	}
	switch u.HashOn {
	case "", "vars":
		u.HashSource = HashVars
	case "header":
		u.HashSource = HashHeader
	case "cookie":
		u.HashSource = HashCookie
	case "consumer":
		u.HashSource = HashConsumer
	case "vars_combinations":
		u.HashSource = HashVarsCombinations
	}
	switch u.PassHostName {
	case "", "pass":
		u.PassHost = PassHostPass
	case "node":
		u.PassHost = PassHostNode
	case "rewrite":
		u.PassHost = PassHostRewrite
		if u.UpstreamHost == "" {
			return invalidf("`upstream_host` can't be empty when `pass_host` is `rewrite`")
		}
	}
	if u.Balancer == CHash {
		if err := u.checkHashKey(); err != nil {
			return err
		}
	}
	for i := range u.Nodes {
		n := &u.Nodes[i]
		if strings.Contains(n.Host, ":") && !strings.HasPrefix(n.Host, "[") {
			return invalidf("IPv6 address must be enclosed with '[' and ']'")
		}
		if n.Port == 0 {
			n.Port = u.Proto.DefaultPort()
		}
		if n.Port < 1 || n.Port > 65535 {
			return invalidf("invalid port %d of node %s", n.Port, n.Host)
		}
	}
	return nil
}

func (u *Upstream) checkHashKey() error {
	if u.HashOn == "consumer" {
		return nil
	}
	if u.Key == "" {
		return invalidf("missing key")
	}
	switch u.HashOn {
	case "", "vars":
		if !hashVarsKey.MatchString(u.Key) {
			return invalidf("invalid configuration: failed to match pattern %q with %q", hashVarsKey.String(), u.Key)
		}
	case "header", "cookie":
		if !hashHeaderKey.MatchString(u.Key) {
			return invalidf("invalid configuration: failed to match pattern %q with %q", hashHeaderKey.String(), u.Key)
		}
	}
	return nil
}

package limitreq

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/jsonschema"
	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

type clock struct {
	mu  sync.Mutex
	now time.Duration
}

func (c *clock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
}

// resty.limit.req: rate 2 r/s, burst 1: the first request passes with no
// delay, the second right after waits 0.5 s, a third is rejected; the
// bucket drains at the rate.
func TestBucketLeaks(t *testing.T) {
	clk := clock{now: time.Hour}
	b := NewBuckets(0, clk.Now)
	k := []byte("k")
	type step struct {
		advance time.Duration
		delay   time.Duration
		ok      bool
	}
	for i, st := range []step{
		{0, 0, true},
		{0, 500 * time.Millisecond, true},
		{0, 0, false},
		{250 * time.Millisecond, 0, false}, // 1000 - 500 + 1000 = 1500 > burst
		{250 * time.Millisecond, 500 * time.Millisecond, true}, // 1000 - 1000 + 1000
		{0, 0, false},
		{2 * time.Second, 0, true}, // drained
	} {
		clk.Advance(st.advance)
		d, ok := b.Incoming(k, 2000, 1000)
		if d != st.delay || ok != st.ok {
			t.Fatalf("step %d: delay %v ok %v, want %v %v", i, d, ok, st.delay, st.ok)
		}
	}
	if d, ok := b.Incoming(k, 2000, 1000); !ok || d != 500*time.Millisecond {
		t.Fatalf("%v %v", d, ok)
	}
	// Taken back, the next one fits again (else: 2000 > burst).
	b.Uncommit(k)
	if d, ok := b.Incoming(k, 2000, 1000); !ok || d != 500*time.Millisecond {
		t.Fatalf("after uncommit: %v %v", d, ok)
	}
}

func TestDrainedBucketsAreEvicted(t *testing.T) {
	var clk clock
	b := NewBuckets(0, clk.Now)
	for i := range 20000 {
		b.Incoming(fmt.Appendf(nil, "old-%d", i), 1000, 0)
	}
	clk.Advance(3 * time.Second)
	for i := range 20000 {
		b.Incoming(fmt.Appendf(nil, "new-%d", i), 1000, 0)
	}
	if n := b.Len(); n > 22000 {
		t.Fatalf("%d buckets kept: drained ones are not evicted", n)
	}
	small := NewBuckets(64*4, clk.Now)
	for i := range 10000 {
		small.Incoming(fmt.Appendf(nil, "k-%d", i), 1, 0)
	}
	if n := small.Len(); n > 64*4 {
		t.Fatalf("%d buckets kept, bound %d", n, 64*4)
	}
}

var testRegistry = sync.OnceValues(func() (*plugin.Registry, error) { return plugin.NewRegistry([]string{Name}, nil) })

func checked(conf string) ([]byte, error) {
	r, err := testRegistry()
	if err != nil {
		return nil, err
	}
	v, err := jsonschema.DecodeJSON([]byte(conf))
	if err != nil {
		return nil, err
	}
	if err := r.CheckPlugin(nil, Name, v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

type request struct {
	c    reqctx.Ctx
	loop reqctx.Loop
}

func (r *request) set(t testing.TB, headers, remote string) {
	t.Helper()
	c := &r.c
	c.Loop = &r.loop
	c.Reset()
	c.Head = append(c.Head[:0], "GET /hello HTTP/1.1\r\nHost: test\r\n"+headers+"\r\n"...)
	lim := http1.Limits{}.WithDefaults()
	if err := c.Req.Parse(c.Head, &lim); err != nil {
		t.Fatal(err)
	}
	c.RemoteAddr = netip.MustParseAddr(remote)
	c.RemoteText = append(c.RemoteText[:0], remote...)
	c.Begin(c.Req.Path.Of(c.Head), c.Req.HostName.Of(c.Head), time.Now())
}

// limit-req.t TEST 3-6 and 11: within burst requests pass (delayed), past
// it they are rejected with rejected_code and rejected_msg.
func TestAccess(t *testing.T) {
	clk := clock{now: time.Hour}
	b := NewBuckets(0, clk.Now)
	compileConf := func(conf string) *limitReq {
		raw, err := checked(conf)
		if err != nil {
			t.Fatal(err)
		}
		p, err := compile(&plugin.Env{Owner: "/apisix/routes/1"}, raw, b)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	var r request
	p := compileConf(`{"rate": 0.1, "burst": 0.1, "rejected_code": 503, "key": "remote_addr"}`)
	var got []string
	for range 4 {
		r.set(t, "", "127.0.0.1")
		res := p.Access(&r.c)
		got = append(got, fmt.Sprint(res, r.c.Status))
	}
	if fmt.Sprint(got) != "[continue 0 stop 503 stop 503 stop 503]" {
		t.Fatalf("rate 0.1 burst 0.1: %v", got)
	}
	_, body, has, _ := r.c.Exited()
	if has {
		t.Fatalf("bare rejected_code should send the error page: %q", body)
	}

	// rate 4 burst 2: the second and third requests in a row are delayed
	// (parked on a worker), the fourth rejected with the message.
	p = compileConf(`{"rate": 4, "burst": 2, "key": "remote_addr", "rejected_code": 429, "rejected_msg": "slow down"}`)
	got = got[:0]
	for range 4 {
		r.set(t, "", "127.0.0.2")
		res := p.Access(&r.c)
		if res == reqctx.Parked {
			j := r.c.TakeParked()
			if d := ratelimit.Delayed(j); d != 250*time.Millisecond && d != 500*time.Millisecond {
				t.Fatalf("delay %v", d)
			}
			if j.Resume(&r.c) != reqctx.Continue {
				t.Fatal("delay did not continue")
			}
		}
		got = append(got, fmt.Sprint(res, r.c.Status))
	}
	if fmt.Sprint(got) != "[continue 0 parked 0 parked 0 stop 429]" {
		t.Fatalf("rate 4 burst 2: %v", got)
	}
	if _, body, _, _ := r.c.Exited(); string(body) != `{"error_msg":"slow down"}`+"\n" {
		t.Fatalf("body %q", body)
	}

	// nodelay: the same requests pass at once.
	p = compileConf(`{"rate": 4, "burst": 2, "key": "remote_addr", "nodelay": true}`)
	got = got[:0]
	for range 4 {
		r.set(t, "", "127.0.0.3")
		got = append(got, fmt.Sprint(p.Access(&r.c), r.c.Status))
	}
	if fmt.Sprint(got) != "[continue 0 continue 0 continue 0 stop 503]" {
		t.Fatalf("nodelay: %v", got)
	}

	// An absent key var counts by the client address.
	p = compileConf(`{"rate": 0.1, "burst": 0, "key": "http_user", "nodelay": true}`)
	r.set(t, "", "127.0.0.4")
	p.Access(&r.c)
	r.set(t, "", "127.0.0.4")
	if p.Access(&r.c) != reqctx.Stop {
		t.Fatal("absent key: not counted by address")
	}
	r.set(t, "User: jack\r\n", "127.0.0.4")
	if p.Access(&r.c) != reqctx.Continue {
		t.Fatal("a key of its own was limited")
	}
}

func TestChecks(t *testing.T) {
	for _, tc := range []struct{ conf, err string }{
		{`{"rate": -1, "burst": 0.1, "key": "remote_addr"}`, `property "rate" validation failed: expected -1 to be greater than 0`},
		{`{"rate": 0, "burst": 0.1, "key": "remote_addr"}`, `property "rate" validation failed: expected 0 to be greater than 0`},
		{`{"rate": 1, "burst": 0.1}`, `property "key" is required`},
		{`{"rate": 1, "burst": 1, "key": "remote_addr", "policy": "redis"}`, `then clause did not match`},
		{`{"rate": 1, "burst": 1, "key": "remote_addr", "key_type": "constant"}`, `property "key_type" validation failed: matches none of the enum values`},
		{`{"rate": 1, "burst": 1, "key": "remote_addr"}`, ``},
	} {
		_, err := checked(tc.conf)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%s: %v, want %q", tc.conf, err, tc.err)
		}
	}
}

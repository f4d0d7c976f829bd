package limitreq

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/ratelimit"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// resty.limit.req: rate 2 r/s, burst 1: the first request passes with no
// delay, the second right after waits 0.5 s, a third is rejected; the
// bucket drains at the rate.
func TestBucketLeaks(t *testing.T) {
	var clk plugintest.Clock
	clk.Advance(time.Hour)
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
	var clk plugintest.Clock
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

// hello is the tests' request head.
const hello = "GET /hello HTTP/1.1\r\nHost: test\r\n\r\n"

// limit-req.t TEST 3-6 and 11: within burst requests pass (delayed), past
// it they are rejected with rejected_code and rejected_msg.
func TestAccess(t *testing.T) {
	var clk plugintest.Clock
	clk.Advance(time.Hour)
	b := NewBuckets(0, clk.Now)
	compileConf := func(conf string) *limitReq {
		return plugintest.Instance(t, Name, conf, func(stored []byte) (*limitReq, error) {
			return compile(&plugin.Env{Owner: "/apisix/routes/1"}, stored, b)
		})
	}
	c := plugintest.NewCtx(t, hello)
	p := compileConf(`{"rate": 0.1, "burst": 0.1, "rejected_code": 503, "key": "remote_addr"}`)
	var got []string
	for range 4 {
		plugintest.Reset(t, c, hello)
		res := p.Access(c)
		got = append(got, fmt.Sprint(res, c.Status))
	}
	if fmt.Sprint(got) != "[continue 0 stop 503 stop 503 stop 503]" {
		t.Fatalf("rate 0.1 burst 0.1: %v", got)
	}
	_, body, has, _ := c.Exited()
	if has {
		t.Fatalf("bare rejected_code should send the error page: %q", body)
	}

	// rate 4 burst 2: the second and third requests in a row are delayed
	// (parked on a worker), the fourth rejected with the message.
	p = compileConf(`{"rate": 4, "burst": 2, "key": "remote_addr", "rejected_code": 429, "rejected_msg": "slow down"}`)
	got = got[:0]
	plugintest.SetRemote(c, "127.0.0.2")
	for range 4 {
		plugintest.Reset(t, c, hello)
		res := p.Access(c)
		if res == reqctx.Parked {
			j := c.TakeParked()
			if d := ratelimit.Delayed(j); d != 250*time.Millisecond && d != 500*time.Millisecond {
				t.Fatalf("delay %v", d)
			}
			if j.Resume(c) != reqctx.Continue {
				t.Fatal("delay did not continue")
			}
		}
		got = append(got, fmt.Sprint(res, c.Status))
	}
	if fmt.Sprint(got) != "[continue 0 parked 0 parked 0 stop 429]" {
		t.Fatalf("rate 4 burst 2: %v", got)
	}
	if _, body, _, _ := c.Exited(); string(body) != `{"error_msg":"slow down"}`+"\n" {
		t.Fatalf("body %q", body)
	}

	// nodelay: the same requests pass at once.
	p = compileConf(`{"rate": 4, "burst": 2, "key": "remote_addr", "nodelay": true}`)
	got = got[:0]
	plugintest.SetRemote(c, "127.0.0.3")
	for range 4 {
		plugintest.Reset(t, c, hello)
		got = append(got, fmt.Sprint(p.Access(c), c.Status))
	}
	if fmt.Sprint(got) != "[continue 0 continue 0 continue 0 stop 503]" {
		t.Fatalf("nodelay: %v", got)
	}

	// An absent key var counts by the client address.
	p = compileConf(`{"rate": 0.1, "burst": 0, "key": "http_user", "nodelay": true}`)
	plugintest.SetRemote(c, "127.0.0.4")
	plugintest.Reset(t, c, hello)
	p.Access(c)
	plugintest.Reset(t, c, hello)
	if p.Access(c) != reqctx.Stop {
		t.Fatal("absent key: not counted by address")
	}
	plugintest.Reset(t, c, "GET /hello HTTP/1.1\r\nHost: test\r\nUser: jack\r\n\r\n")
	if p.Access(c) != reqctx.Continue {
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
		_, err := plugintest.Checked(Name, tc.conf)
		if got := fmt.Sprint(err); (tc.err == "" && err != nil) || (tc.err != "" && got != tc.err) {
			t.Errorf("%s: %v, want %q", tc.conf, err, tc.err)
		}
	}
}

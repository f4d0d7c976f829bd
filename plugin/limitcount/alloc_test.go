//go:build !race

package limitcount

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

// The local policy is on the benchmark scenario's request path (key-auth +
// limit-count + proxy-rewrite + prometheus): counting a known key, setting
// the three quota headers and rejecting must not allocate.
func TestLimitCountLocalAllocatesNothing(t *testing.T) {
	for _, tc := range []struct{ name, conf string }{
		{"within the limit", `{"count": 1000000000, "time_window": 60}`},
		{"rejected with a message", `{"count": 1, "time_window": 60, "rejected_msg": "no"}`},
		{"sliding window", `{"count": 1000000000, "time_window": 60, "window_type": "sliding"}`},
		{"var_combination key", `{"count": 1000000000, "time_window": 60, "key_type": "var_combination", "key": "$remote_addr $http_x"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := instance(t, "/apisix/routes/alloc", tc.conf, NewStore(0, nil))
			raw := get("/hello", "X: 1\r\n")
			r := plugintest.NewCtx(t, raw)
			p.Access(r) // warm: the key's window, the loop's scratch, the context's buffers
			allocs := testing.AllocsPerRun(1000, func() {
				plugintest.Reset(t, r, raw)
				if res := p.Access(r); res == reqctx.Parked {
					t.Fatal("parked")
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per request", allocs)
			}
		})
	}
}

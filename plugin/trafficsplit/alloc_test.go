//go:build !race

package trafficsplit

import (
	"testing"

	"github.com/sluicegw/sluice/internal/plugintest"
)

// TestAccessAllocatesNothing: matching a rule and picking an upstream
// allocate nothing once the loop holds the rule's position.
func TestAccessAllocatesNothing(t *testing.T) {
	ch := compile(t, `{"rules": [{"match": [{"vars": [["arg_name", "==", "jack"]]}], "weighted_upstreams": [{"upstream_id": "1", "weight": 3}, {"upstream_id": "2", "weight": 2}, {"weight": 1}]}]}`)
	c := plugintest.NewCtx(t, "GET /server_port?name=jack HTTP/1.1\r\nHost: x\r\n")
	plugintest.Request(ch, c)
	if n := testing.AllocsPerRun(100, func() { plugintest.Request(ch, c) }); n != 0 {
		t.Fatalf("%v allocations per request", n)
	}
}

package consumerrestriction_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/config"
	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
	_ "github.com/sluicegw/sluice/plugin/basicauth"
	_ "github.com/sluicegw/sluice/plugin/consumerrestriction"
)

// As t/plugin/consumer-restriction.t: jack1 (jack2019:123456, in group
// g1) and jack2 (jack2020:123456) authenticate with basic-auth.
const (
	jack1 = "Authorization: Basic amFjazIwMTk6MTIzNDU2"
	jack2 = "Authorization: Basic amFjazIwMjA6MTIzNDU2"
)

func snapshot(t testing.TB) (*plugin.Registry, *plugin.Index) {
	r := plugintest.Registry(t, "basic-auth", "consumer-restriction")
	return r, plugintest.Index(t, r, plugin.IndexInput{
		Consumers: []*config.Consumer{
			plugintest.Consumer(t, `{"username": "jack1", "group_id": "g1", "plugins": {"basic-auth": {"username": "jack2019", "password": "123456"}}}`),
			plugintest.Consumer(t, `{"username": "jack2", "plugins": {"basic-auth": {"username": "jack2020", "password": "123456"}}}`),
			plugintest.Consumer(t, `{"username": "jack3", "plugins": {"basic-auth": {"username": "jack3", "password": "x"},
				"consumer-restriction": {"type": "service_id", "whitelist": ["svc-1"], "rejected_code": 401}}}`),
		},
		Groups: map[string]*config.PluginSet{"g1": {Plugins: config.Plugins{}}},
	})
}

func TestConsumerRestriction(t *testing.T) {
	r, idx := snapshot(t)
	const (
		forbidden = `403 | {"message":"The consumer_name is forbidden."}` + "\n"
		noAuth    = `401 | {"message":"Missing authorization in request"}` + "\n"
		noValue   = `401 | {"message":"The request is rejected, please check the consumer_name for this request"}` + "\n"
	)
	for _, tc := range []struct {
		name, conf, method, auth string
		auth2                    bool // basic-auth on the route
		exit                     string
	}{
		{"whitelist: no authorization", `{"whitelist": ["jack1"]}`, "GET", "", true, noAuth},
		{"whitelist: jack1", `{"whitelist": ["jack1"]}`, "GET", jack1, true, ""},
		{"whitelist: jack2", `{"whitelist": ["jack1"]}`, "GET", jack2, true, forbidden},
		{"blacklist: jack1, rejected_msg", `{"blacklist": ["jack1"], "rejected_msg": "request is forbidden"}`, "GET", jack1, true, `403 | {"message":"request is forbidden"}` + "\n"},
		{"blacklist: jack2", `{"blacklist": ["jack1"]}`, "GET", jack2, true, ""},
		{"whitelist without authorization", `{"whitelist": ["jack1"]}`, "GET", jack1, false, noValue},
		{"blacklist without authorization", `{"blacklist": ["jack1"]}`, "GET", "", false, noValue},
		{"allowed_by_methods: GET refused", `{"allowed_by_methods": [{"user": "jack1", "methods": ["POST"]}]}`, "GET", jack1, true, forbidden},
		{"allowed_by_methods: GET allowed", `{"allowed_by_methods": [{"user": "jack1", "methods": ["POST", "GET"]}]}`, "GET", jack1, true, ""},
		{"allowed_by_methods: another user", `{"allowed_by_methods": [{"user": "jack1", "methods": ["POST"]}]}`, "GET", jack2, true, ""},
		{"allowed_by_methods: the first rule decides", `{"allowed_by_methods": [{"user": "jack1", "methods": ["POST"]}, {"user": "jack1", "methods": ["GET"]}]}`, "GET", jack1, true, forbidden},
		{"blacklist before whitelist", `{"blacklist": ["jack1"], "whitelist": ["jack1", "jack2"]}`, "GET", jack1, true, forbidden},
		{"whitelist before allowed_by_methods", `{"whitelist": ["jack1"], "allowed_by_methods": [{"user": "jack1", "methods": ["POST"]}]}`, "GET", jack1, true, ""},
		{"whitelist misses, methods allow", `{"whitelist": ["jack1"], "allowed_by_methods": [{"user": "jack2", "methods": ["GET"]}]}`, "GET", jack2, true, forbidden},
		{"rejected_code", `{"whitelist": ["x"], "rejected_code": 401}`, "GET", jack1, true, `401 | {"message":"The consumer_name is forbidden."}` + "\n"},
		{"consumer_group_id", `{"type": "consumer_group_id", "whitelist": ["g1"]}`, "GET", jack1, true, ""},
		{"consumer without a group", `{"type": "consumer_group_id", "whitelist": ["g1"]}`, "GET", jack2, true,
			`401 | {"message":"The request is rejected, please check the consumer_group_id for this request"}` + "\n"},
		{"route_id", `{"type": "route_id", "blacklist": ["1"]}`, "GET", "", false, `403 | {"message":"The route_id is forbidden."}` + "\n"},
		{"service_id missing", `{"type": "service_id", "whitelist": ["1"]}`, "GET", "", false,
			`401 | {"message":"The request is rejected, please check the service_id for this request"}` + "\n"},
		{"a rejected_msg is cjson-encoded", `{"blacklist": ["jack1"], "rejected_msg": "no/way"}`, "GET", jack1, true, `403 | {"message":"no\/way"}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plugins := `{"consumer-restriction": ` + tc.conf
			if tc.auth2 {
				plugins += `, "basic-auth": {}`
			}
			ch := plugintest.RouteChain(t, r, plugins+"}")
			req := tc.method + " /hello HTTP/1.1\nHost: a"
			if tc.auth != "" {
				req += "\n" + tc.auth
			}
			c := plugintest.NewCtxWith(t, req, idx)
			c.RouteID = "1"
			res := plugintest.Request(ch, c)
			got := ""
			if exited, body, _, _ := c.Exited(); exited {
				got = strings.Join([]string{strconv.Itoa(c.Status), string(body)}, " | ")
			}
			if got != tc.exit || (got == "") != (res == reqctx.Continue) {
				t.Fatalf("%v %q, want %q", res, got, tc.exit)
			}
		})
	}
}

// A consumer's own consumer-restriction (APISIX's test 36 on): merged over
// the route once the consumer authenticated, it restricts that consumer
// by service.
func TestOnAConsumer(t *testing.T) {
	r, idx := snapshot(t)
	ch := plugintest.RouteChain(t, r, `{"basic-auth": {}}`)
	for svc, want := range map[string]string{"svc-1": "", "svc-2": `401 {"message":"The service_id is forbidden."}` + "\n"} {
		c := plugintest.NewCtxWith(t, "GET /hello HTTP/1.1\nHost: a\nAuthorization: Basic amFjazM6eA==", idx)
		c.RouteID, c.ServiceID = "1", svc
		plugintest.Request(ch, c)
		got := ""
		if exited, body, _, _ := c.Exited(); exited {
			got = strconv.Itoa(c.Status) + " " + string(body)
		}
		if got != want {
			t.Errorf("%s: %q, want %q", svc, got, want)
		}
	}
	// jack1 has no such plugin: any service.
	c := plugintest.NewCtxWith(t, "GET /hello HTTP/1.1\nHost: a\n"+jack1, idx)
	c.ServiceID = "svc-2"
	if res := plugintest.Request(ch, c); res != reqctx.Continue {
		t.Fatal(res)
	}
}

func TestSchema(t *testing.T) {
	r, _ := snapshot(t)
	check := func(conf string) (map[string]any, error) {
		return plugintest.CheckAs(r, config.Routes, "consumer-restriction", conf)
	}
	if v, err := check(`{"whitelist": ["a"]}`); err != nil || v["type"] != "consumer_name" || v["rejected_code"] != float64(403) {
		t.Fatalf("defaults %v %v", v, err)
	}
	for conf, want := range map[string]string{
		`{}`:                                 `object matches none of the required: ["blacklist"] or ["whitelist"] or ["allowed_by_methods"]`,
		`{"whitelist": []}`:                  `property "whitelist" validation failed`,
		`{"whitelist": ["a"], "type": "ip"}`: `property "type" validation failed`,
		`{"whitelist": ["a"], "rejected_code": 199}`:                    `property "rejected_code" validation failed`,
		`{"allowed_by_methods": [{"user": "a", "methods": ["FETCH"]}]}`: `property "allowed_by_methods" validation failed`,
	} {
		if _, err := check(conf); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", conf, err, want)
		}
	}
}

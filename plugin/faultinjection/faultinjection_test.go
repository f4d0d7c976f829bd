package faultinjection

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicegw/sluice/internal/plugintest"
	"github.com/sluicegw/sluice/internal/reqctx"
)

func TestSchema(t *testing.T) {
	// fault-injection.t TEST 1-5, 27; fault-injection2.t TEST 4's headers.
	for _, tc := range []struct{ conf, want string }{
		{`{"abort": {"http_status": 100, "body": "Fault Injection!\n"}}`, `property "abort" validation failed: property "http_status" validation failed: expected 100 to be at least 200`},
		{`{"abort": {}}`, `property "abort" validation failed: property "http_status" is required`},
		{`{}`, `expect object to have at least 1 properties`},
		{`{"delay": {}}`, `property "delay" validation failed: property "duration" is required`},
		{`{"delay": {"duration": "test"}}`, `property "delay" validation failed: property "duration" validation failed: wrong type: expected number, got string`},
		{`{"abort": {"http_status": 403, "vars": [["arg_name", "!=", "jack"]]}, "delay": {"duration": 2}}`, `rule should be wrapped inside brackets`},
		{`{"delay": {"duration": 1, "vars": [["arg_name", "==", "jack"]]}}`, `rule should be wrapped inside brackets`},
		{`{"abort": {"http_status": 200, "percentage": 101}}`, `property "abort" validation failed: property "percentage" validation failed: expected 101 to be at most 100`},
		{`{"abort": {"http_status": 200, "headers": {}}}`, `property "abort" validation failed: property "headers" validation failed: expect object to have at least 1 properties`},
	} {
		if err := plugintest.Check("fault-injection", tc.conf); err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.conf, err, tc.want)
		}
	}
	// TEST 26.
	if err := plugintest.Check("fault-injection", `{
		"abort": {"http_status": 403, "body": "Fault Injection!\n", "vars": [[["arg_name","==","jack"], ["arg_age","!","<",18]], [["http_apikey","==","api-key"]]]},
		"delay": {"duration": 2, "vars": [[["arg_name","==","jack"], ["arg_age","!","<",18]], [["http_apikey","==","api-key"]]]}}`); err != nil {
		t.Fatal(err)
	}
}

type answer struct {
	status  int
	body    string
	headers string // the answer's header edits, as the engine appends them
}

// request runs one request through conf: the zero answer when it goes on.
// A delay is resumed at once (its Run is the engine's business).
func request(t *testing.T, conf, head string) answer {
	t.Helper()
	ch := plugintest.Chain(t, "fault-injection", conf)
	c := plugintest.NewCtx(t, head)
	res := plugintest.Request(ch, c)
	if res == reqctx.Parked {
		res = c.TakeParked().Resume(c)
	}
	if res != reqctx.Stop {
		return answer{}
	}
	_, body, has, _ := c.Exited()
	if !has {
		body = []byte("<nginx page>")
	}
	return answer{c.Status, string(body), string(c.AppendRespEdits(nil))}
}

func TestAbort(t *testing.T) {
	const fi = "Fault Injection!\n"
	get := "GET /hello HTTP/1.1\r\nHost: x\r\n"
	varsConf := `{"abort": {"http_status": 403, "body": "Fault Injection!\n", "vars": [
		[["arg_name","==","jack"], ["arg_age","!","<",18]],
		[["http_apikey","==","api-key"]]]}}`
	for _, tc := range []struct {
		name, conf, head string
		want             answer
	}{
		// fault-injection.t TEST 13, 15, 18, 23, 25.
		{"200", `{"abort": {"http_status": 200, "body": "Fault Injection!\n"}}`, get, answer{200, fi, ""}},
		{"405", `{"abort": {"http_status": 405, "body": "Fault Injection!\n"}}`, get, answer{405, fi, ""}},
		{"zero percentage", `{"abort": {"http_status": 200, "body": "x", "percentage": 0}}`, get, answer{}},
		{"full percentage", `{"abort": {"http_status": 200, "body": "x", "percentage": 100}}`, get, answer{200, "x", ""}},
		{"body with var", `{"abort": {"http_status": 200, "body": "client addr: $remote_addr\n"}}`, get, answer{200, "client addr: 127.0.0.1\n", ""}},
		{"no body", `{"abort": {"http_status": 200}}`, get, answer{200, "", ""}},
		{"no body, error status", `{"abort": {"http_status": 503}}`, get, answer{503, "<nginx page>", ""}},
		{"empty body", `{"abort": {"http_status": 503, "body": ""}}`, get, answer{503, "", ""}},
		// TEST 29-33: vars.
		{"all vars pass", varsConf, "GET /hello?name=jack&age=18 HTTP/1.1\r\nHost: x\r\napikey: api-key\r\n", answer{403, fi, ""}},
		{"first rule", varsConf, "GET /hello?name=jack&age=20 HTTP/1.1\r\nHost: x\r\n", answer{403, fi, ""}},
		{"second rule", varsConf, "GET /hello HTTP/1.1\r\nHost: x\r\napikey:api-key\r\n", answer{403, fi, ""}},
		{"age missing", varsConf, "GET /hello?name=allen HTTP/1.1\r\nHost: x\r\n", answer{}},
		{"no vars match", varsConf, get, answer{}},
		{"empty vars", `{"abort": {"http_status": 403, "vars": []}}`, get, answer{}},
		// fault-injection2.t TEST 1-3: !AND.
		{"!AND hit", `{"abort": {"http_status": 403, "body": "Fault Injection!\n", "vars": [["!AND", ["arg_name","==","jack"], ["arg_age","!","<",18]]]}}`,
			"GET /hello?name=jack&age=17 HTTP/1.1\r\nHost: x\r\n", answer{403, fi, ""}},
		{"!AND miss", `{"abort": {"http_status": 403, "body": "Fault Injection!\n", "vars": [["!AND", ["arg_name","==","jack"], ["arg_age","!","<",18]]]}}`,
			"GET /hello?name=jack&age=18 HTTP/1.1\r\nHost: x\r\n", answer{}},
		// TEST 4-7: headers, and a brace after a variable.
		{"headers", `{"abort": {"http_status": 200, "headers": {"h1": "v1", "h2": 2, "h3": "$uri", "h4": 2.5, "x_under": "u", "h5": "$arg_none"}}}`, get,
			answer{200, "", "h1: v1\r\nh2: 2\r\nh3: /hello\r\nh4: 2.5\r\nx-under: u\r\n"}},
		{"brace", `{"abort": {"http_status": 200, "body": "{\"count\": $arg_count}"}}`, "GET /hello?count=2 HTTP/1.1\r\nHost: x\r\n", answer{200, `{"count": 2}`, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := request(t, tc.conf, tc.head)
			if tc.name == "headers" { // map order: compare sorted lines
				got.headers = sortLines(got.headers)
				tc.want.headers = sortLines(tc.want.headers)
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n")
	for i := range lines {
		for j := i + 1; j < len(lines); j++ {
			if lines[j] < lines[i] {
				lines[i], lines[j] = lines[j], lines[i]
			}
		}
	}
	return strings.Join(lines, "\r\n")
}

func TestDelayParks(t *testing.T) {
	for _, tc := range []struct {
		name, conf, head string
		parks            bool
		after            answer // once resumed
	}{
		{"delay", `{"delay": {"duration": 1.5}}`, "GET / HTTP/1.1\r\nHost: x\r\n", true, answer{}},
		{"zero percentage", `{"delay": {"duration": 1, "percentage": 0}}`, "GET / HTTP/1.1\r\nHost: x\r\n", false, answer{}},
		{"zero duration", `{"delay": {"duration": 0}}`, "GET / HTTP/1.1\r\nHost: x\r\n", false, answer{}},
		// fault-injection.t TEST 35-36: vars.
		{"vars pass", `{"delay": {"duration": 2, "vars": [[["arg_name","==","jack"], ["arg_age","!","<",18]]]}}`, "GET /hello?name=jack&age=22 HTTP/1.1\r\nHost: x\r\n", true, answer{}},
		{"vars fail", `{"delay": {"duration": 2, "vars": [[["arg_name","==","jack"], ["arg_age","!","<",18]]]}}`, "GET /hello HTTP/1.1\r\nHost: x\r\n", false, answer{}},
		// TEST 37-39: delay, then abort, each with its own vars (both
		// decided before the delay).
		{"delay then abort", `{"abort": {"http_status": 403, "body": "Fault Injection!\n", "vars": [[["arg_name","==","jack"], ["arg_age","!","<",18]]]},
			"delay": {"duration": 2, "vars": [[["http_apikey","==","api-key"]]]}}`, "GET /hello?name=jack&age=18 HTTP/1.1\r\nHost: x\r\napikey: api-key\r\n", true, answer{403, "Fault Injection!\n", ""}},
		{"delay only", `{"abort": {"http_status": 403, "body": "Fault Injection!\n", "vars": [[["arg_name","==","jack"], ["arg_age","!","<",18]]]},
			"delay": {"duration": 2, "vars": [[["http_apikey","==","api-key"]]]}}`, "GET /hello?name=jack&age=16 HTTP/1.1\r\nHost: x\r\napikey: api-key\r\n", true, answer{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := plugintest.Chain(t, "fault-injection", tc.conf)
			c := plugintest.NewCtx(t, tc.head)
			before := time.Now()
			res := plugintest.Request(ch, c)
			if (res == reqctx.Parked) != tc.parks {
				t.Fatalf("result %v, parks %v", res, tc.parks)
			}
			if !tc.parks {
				return
			}
			j := c.TakeParked().(*delayJob)
			if min := before.Add(time.Duration(j.f.delay.d)); j.until.Before(min) {
				t.Fatalf("deadline %v before %v", j.until, min)
			}
			got := answer{}
			if j.Resume(c) == reqctx.Stop {
				_, body, _, _ := c.Exited()
				got = answer{c.Status, string(body), string(c.AppendRespEdits(nil))}
			}
			if got != tc.after {
				t.Fatalf("after the delay %+v, want %+v", got, tc.after)
			}
			// The job went back to the loop's free list, and is reused.
			c2 := plugintest.NewCtxOn(t, c.Loop, tc.head)
			plugintest.Request(ch, c2)
			if c2.TakeParked().(*delayJob) != j {
				t.Fatal("the delay job was not recycled")
			}
		})
	}
}

// TestDelayRunSleepsUntilTheDeadline: Run waits out what is left of the
// delay, not the whole duration again.
func TestDelayRunSleepsUntilTheDeadline(t *testing.T) {
	j := &delayJob{until: time.Now().Add(20 * time.Millisecond)}
	j.Run()
	if time.Now().Before(j.until) {
		t.Fatal("Run returned before the deadline")
	}
	j.until = time.Now().Add(-time.Hour) // a job that waited for a worker past its deadline
	j.Run()                              // returns at once (a test timeout otherwise)
}

// TestResumeWithoutRequest: a request gone during its delay only gives
// its job back.
func TestResumeWithoutRequest(t *testing.T) {
	ch := plugintest.Chain(t, "fault-injection", `{"delay": {"duration": 1}, "abort": {"http_status": 500}}`)
	c := plugintest.NewCtx(t, "GET / HTTP/1.1\r\nHost: x\r\n")
	if plugintest.Request(ch, c) != reqctx.Parked {
		t.Fatal("not parked")
	}
	j := c.TakeParked().(*delayJob)
	if j.Resume(nil) != reqctx.Continue || j.f != nil || len(j.home.jobs) != 1 {
		t.Fatalf("job %+v", j)
	}
}

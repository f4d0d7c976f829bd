package admintest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluicegw/sluice/internal/datadriven"
)

// Env is the API under test.
type Env struct {
	// AdminURL is "http://host:port".
	AdminURL string
	// APIKey is sent as X-API-KEY unless a request sets its own headers.
	APIKey string
	// Etcd and Prefix reach the etcd behind the API.
	Etcd   *clientv3.Client
	Prefix string
}

// Run runs the golden file at path against env.
func Run(t *testing.T, path string, env Env) {
	client := &http.Client{Timeout: 10 * time.Second}
	datadriven.RunTest(t, path, func(t *testing.T, c *datadriven.Case) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		switch c.Cmd {
		case "request":
			return request(t, client, env, c)
		case "etcd-put":
			if _, err := env.Etcd.Put(ctx, env.Prefix+c.Args[0], strings.Join(c.Input, "\n")); err != nil {
				t.Fatal(err)
			}
			return "ok"
		case "etcd-get":
			resp, err := env.Etcd.Get(ctx, env.Prefix+c.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Kvs) == 0 {
				return "(missing)"
			}
			return normalise(resp.Kvs[0].Value)
		case "etcd-del":
			if _, err := env.Etcd.Delete(ctx, env.Prefix+c.Args[0]); err != nil {
				t.Fatal(err)
			}
			return "ok"
		}
		t.Fatalf("%s: unknown command %q", c.Pos, c.Cmd)
		return ""
	})
}

func request(t *testing.T, client *http.Client, env Env, c *datadriven.Case) string {
	if len(c.Args) < 2 {
		t.Fatalf("%s: want: request <METHOD> <path> [Header:value ...]", c.Pos)
	}
	var body io.Reader
	if len(c.Input) > 0 {
		body = strings.NewReader(strings.Join(c.Input, "\n"))
	}
	path := strings.ReplaceAll(c.Args[1], "$KEY", env.APIKey)
	req, err := http.NewRequest(c.Args[0], env.AdminURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	headers := c.Args[2:]
	if len(headers) == 0 {
		req.Header.Set("X-API-KEY", env.APIKey)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		value = strings.ReplaceAll(value, "$KEY", env.APIKey)
		if strings.EqualFold(name, "Cookie") {
			req.Header.Add("Cookie", value)
			continue
		}
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", c.Pos, ct)
	}
	if v := resp.Header.Get("X-API-VERSION"); v != "v3" {
		t.Errorf("%s: X-API-VERSION %q", c.Pos, v)
	}
	out := fmt.Sprint(resp.StatusCode)
	if len(bytes.TrimSpace(data)) > 0 {
		out += "\n" + normalise(data)
	}
	return out
}

var generatedID = regexp.MustCompile(`\b\d{20}\b`)

// normalise re-encodes JSON with sorted keys and replaces what changes from
// run to run.
func normalise(data []byte) string {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return strings.TrimSpace(string(data))
	}
	v = scrub(v)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	out := strings.TrimSpace(b.String())
	return generatedID.ReplaceAllString(out, "<id>")
}

func scrub(v any) any {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			switch k {
			case "create_time", "update_time":
				t[k] = "<time>"
			case "createdIndex", "modifiedIndex":
				t[k] = "<rev>"
			default:
				t[k] = scrub(t[k])
			}
		}
		return t
	case []any:
		for i := range t {
			t[i] = scrub(t[i])
		}
	}
	return v
}

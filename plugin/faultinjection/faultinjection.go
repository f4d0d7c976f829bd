package faultinjection

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
	"github.com/sluicegw/sluice/plugin"
)

// schema is fault-injection.lua's schema, as JSON.
const schema = `{
  "type": "object",
  "properties": {
    "abort": {
      "type": "object",
      "properties": {
        "http_status": {"type": "integer", "minimum": 200},
        "body": {"type": "string", "minLength": 0},
        "headers": {
          "type": "object",
          "minProperties": 1,
          "patternProperties": {"^[^:]+$": {"oneOf": [{"type": "string"}, {"type": "number"}]}}
        },
        "percentage": {"type": "integer", "minimum": 0, "maximum": 100},
        "vars": {"type": "array", "maxItems": 20, "items": {"type": "array"}}
      },
      "required": ["http_status"]
    },
    "delay": {
      "type": "object",
      "properties": {
        "duration": {"type": "number", "minimum": 0},
        "percentage": {"type": "integer", "minimum": 0, "maximum": 100},
        "vars": {"type": "array", "maxItems": 20, "items": {"type": "array"}}
      },
      "required": ["duration"]
    }
  },
  "minProperties": 1
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:     "fault-injection",
		Priority: 11000,
		Version:  "0.1",
		Schema:   schema,
		Check:    check,
		New:      newFault,
	})
}

type conf struct {
	Abort *struct {
		HTTPStatus int                        `json:"http_status"`
		Body       *string                    `json:"body"`
		Headers    map[string]json.RawMessage `json:"headers"`
		Percentage *int                       `json:"percentage"`
		Vars       []json.RawMessage          `json:"vars"`
	} `json:"abort"`
	Delay *struct {
		Duration   float64           `json:"duration"`
		Percentage *int              `json:"percentage"`
		Vars       []json.RawMessage `json:"vars"`
	} `json:"delay"`
}

// fault is a compiled conf. Immutable; shared by every loop.
type fault struct {
	abort *abort
	delay *delay
}

type abort struct {
	status  int
	body    *vartmpl.Template // nil: no body
	static  []byte            // the body when it has no variables
	headers []header
	sample  sample
	vars    rules
}

type header struct {
	name   string
	value  *vartmpl.Template // nil: static
	static []byte
}

type delay struct {
	d      time.Duration
	sample sample
	vars   rules
}

// sample is a percentage; -1 when absent (every request).
type sample int

// hit is fault-injection.lua's sample_hit.
func (s sample) hit() bool { return s < 0 || rand.IntN(100) < int(s) }

// rules is a vars array: the OR of its expressions. Nil when absent
// (matches); an empty array matches nothing, as vars_match returns nil.
type rules []*expr.Expr

func (r rules) match(c *reqctx.Ctx) bool {
	if r == nil {
		return true
	}
	for _, e := range r {
		if e.Eval(c) {
			return true
		}
	}
	return false
}

var (
	_ plugin.Rewriter = (*fault)(nil)
	_ reqctx.Job      = (*delayJob)(nil)
)

// check is check_schema beyond the schema: each vars entry must compile
// (lua-resty-expr's error, unprefixed, as APISIX returns it).
func check(obj map[string]any, _ bool) error {
	for _, part := range []string{"abort", "delay"} {
		p, _ := obj[part].(map[string]any)
		vars, _ := p["vars"].([]any)
		for _, v := range vars {
			raw, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if _, err := expr.Compile(raw); err != nil {
				return err
			}
		}
	}
	return nil
}

func compileRules(vars []json.RawMessage) (rules, error) {
	if vars == nil {
		return nil, nil
	}
	r := make(rules, 0, len(vars))
	for _, v := range vars {
		e, err := expr.Compile(v)
		if err != nil {
			return nil, err
		}
		r = append(r, e)
	}
	return r, nil
}

func sampleOf(p *int) sample {
	if p == nil {
		return -1
	}
	return sample(*p)
}

func newFault(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	f := &fault{}
	var err error
	if a := c.Abort; a != nil {
		f.abort = &abort{status: a.HTTPStatus, sample: sampleOf(a.Percentage)}
		if f.abort.vars, err = compileRules(a.Vars); err != nil {
			return nil, err
		}
		if a.Body != nil {
			f.abort.body = vartmpl.Compile(*a.Body, false)
			f.abort.static, _ = f.abort.body.Static()
		} else if a.HTTPStatus < 300 {
			f.abort.static = []byte{} // nginx has no page for it: an empty body
		}
		for name, v := range a.Headers {
			var val any
			if err := json.Unmarshal(v, &val); err != nil {
				return nil, err
			}
			h := header{name: strings.ReplaceAll(name, "_", "-")}
			switch x := val.(type) {
			case string:
				tpl := vartmpl.Compile(x, false)
				if s, ok := tpl.Static(); ok {
					h.static = s
				} else {
					h.value = tpl
				}
			default:
				s, _ := vartmpl.LuaString(x)
				h.static = []byte(s)
			}
			f.abort.headers = append(f.abort.headers, h)
		}
	}
	if d := c.Delay; d != nil {
		f.delay = &delay{d: time.Duration(d.Duration * float64(time.Second)), sample: sampleOf(d.Percentage)}
		if f.delay.vars, err = compileRules(d.Vars); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// scratch is a loop's buffer for expanded bodies and header values, and
// its free delay jobs.
type scratch struct {
	buf  []byte
	jobs []*delayJob
}

var scratchKey = reqctx.NewLocalKey(func() any { return new(scratch) })

// Rewrite implements plugin.Rewriter: fault-injection.lua's rewrite.
func (f *fault) Rewrite(c *reqctx.Ctx) reqctx.Result {
	abortVars := f.abort == nil || f.abort.vars.match(c)
	if d := f.delay; d != nil && d.sample.hit() && d.vars.match(c) && d.d > 0 {
		s := c.Loop.Local(scratchKey).(*scratch)
		var j *delayJob
		if n := len(s.jobs); n > 0 {
			j, s.jobs = s.jobs[n-1], s.jobs[:n-1]
		} else {
			j = &delayJob{home: s}
		}
		j.f, j.abortVars, j.until = f, abortVars, time.Now().Add(d.d)
		return c.Park(j)
	}
	return f.doAbort(c, abortVars)
}

// doAbort answers the request when abort applies to it.
func (f *fault) doAbort(c *reqctx.Ctx, abortVars bool) reqctx.Result {
	a := f.abort
	if a == nil || !a.sample.hit() || !abortVars {
		return reqctx.Continue
	}
	var s *scratch
	for i := range a.headers {
		h := &a.headers[i]
		v := h.static
		if h.value != nil {
			if s == nil {
				s = c.Loop.Local(scratchKey).(*scratch)
			}
			s.buf = h.value.Append(s.buf[:0], c, nil, nil)
			v = s.buf
		}
		if len(v) == 0 {
			c.DelRespHeader(h.name) // ngx.header[name] = "" clears it
		} else {
			c.SetRespHeader(h.name, v)
		}
	}
	body := a.static
	if body == nil && a.body != nil {
		if s == nil {
			s = c.Loop.Local(scratchKey).(*scratch)
		}
		s.buf = a.body.Append(s.buf[:0], c, nil, nil)
		body = s.buf
	}
	return c.Exit(a.status, body) // body is copied
}

// delayJob is a delayed request's park: Run sleeps on a worker, Resume
// goes on (abort, or the next hook) on the request's loop. Recycled
// through its loop's scratch.
type delayJob struct {
	home      *scratch // the loop's; only touched on that loop
	f         *fault
	abortVars bool
	until     time.Time
}

// Run implements reqctx.Job: sleep until the request's deadline.
func (j *delayJob) Run() {
	if d := time.Until(j.until); d > 0 {
		time.Sleep(d)
	}
}

// Resume implements reqctx.Job.
func (j *delayJob) Resume(c *reqctx.Ctx) reqctx.Result {
	f, abortVars := j.f, j.abortVars
	j.f = nil
	j.home.jobs = append(j.home.jobs, j)
	if c == nil {
		return reqctx.Continue // the client went away; nothing to answer
	}
	return f.doAbort(c, abortVars)
}

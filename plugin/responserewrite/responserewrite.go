package responserewrite

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/ngxbase64"
	"github.com/sluicegw/sluice/internal/ngxre"
	"github.com/sluicegw/sluice/internal/vartmpl"
	"github.com/sluicegw/sluice/plugin"
)

func init() {
	plugin.Register(&plugin.Def{
		Name:     "response-rewrite",
		Priority: 899,
		Version:  "0.1",
		Schema:   schema,
		Check:    check,
		New:      newResponseRewrite,
	})
}

// Errors of conf checks, with APISIX's texts.
var (
	errBase64      = errors.New("invalid base64 content")
	errFieldLength = errors.New("invalid field length in header")
	errValueType   = errors.New("invalid type as header value")
	errFieldChar   = errors.New("invalid field character in header")
)

type filterConf struct {
	Regex   string `json:"regex"`
	Scope   string `json:"scope"`
	Replace string `json:"replace"`
	Options string `json:"options"`
}

type conf struct {
	MaxRespBodySize int64           `json:"max_resp_body_size"`
	Headers         json.RawMessage `json:"headers"`
	Body            *string         `json:"body"`
	BodyBase64      bool            `json:"body_base64"`
	StatusCode      int             `json:"status_code"`
	Vars            json.RawMessage `json:"vars"`
	Filters         []filterConf    `json:"filters"`
}

func check(obj map[string]any, _ bool) error {
	if h, ok := obj["headers"].(map[string]any); ok {
		if !plugin.IsHeaderOpsConf(h) {
			for field, value := range h {
				if len(field) == 0 {
					return errFieldLength
				}
				if _, ok := vartmpl.LuaString(value); !ok {
					return errValueType
				}
			}
		}
		if err := checkNames(h); err != nil {
			return err
		}
	}
	if b64, _ := obj["body_base64"].(bool); b64 {
		body, _ := obj["body"].(string)
		if _, ok := ngxbase64.Decode(nil, []byte(body)); !ok || body == "" {
			return errBase64
		}
	}
	if v, ok := obj["vars"]; ok {
		raw, err := json.Marshal(v)
		if err == nil {
			_, err = expr.Compile(raw)
		}
		if err != nil {
			return fmt.Errorf("failed to validate the 'vars' expression: %w", err)
		}
	}
	if l, ok := obj["filters"].([]any); ok {
		for _, f := range l {
			m, _ := f.(map[string]any)
			re, _ := m["regex"].(string)
			opts, ok := m["options"].(string)
			if !ok {
				opts = "jo"
			}
			if _, err := ngxre.Compile(re, opts); err != nil {
				return fmt.Errorf("regex %q validation failed: %w", re, err)
			}
			if repl, _ := m["replace"].(string); repl != "" {
				if _, err := ngxre.CompileReplacement(repl); err != nil {
					return fmt.Errorf("regex %q validation failed: %w", re, err)
				}
			}
		}
	}
	return nil
}

// checkNames refuses header names that could split a header line (APISIX
// fails on them at run time).
func checkNames(h map[string]any) error {
	var names []string
	if plugin.IsHeaderOpsConf(h) {
		if m, ok := h["set"].(map[string]any); ok {
			for n := range m {
				names = append(names, n)
			}
		}
		if l, ok := h["remove"].([]any); ok {
			for _, v := range l {
				s, _ := v.(string)
				names = append(names, s)
			}
		}
	} else {
		for n := range h {
			names = append(names, n)
		}
	}
	for _, n := range names {
		if !plugin.ValidHeaderField(n) {
			return errFieldChar
		}
	}
	return nil
}

// filter is one compiled body filter.
type filter struct {
	re     *ngxre.Regexp
	repl   *ngxre.Replacement
	global bool
}

// headerOp is one response header edit.
type headerOp struct {
	name  string
	value *vartmpl.Template
}

// responseRewrite is a compiled conf. Immutable; shared by every loop.
type responseRewrite struct {
	vars      *expr.Expr
	status    int
	body      []byte // nil: keep the body
	filters   []filter
	maxBody   int
	add, set  []headerOp
	remove    []string
	rewriting bool // body or filters: the body changes
}

var (
	_ plugin.HeaderFilterer = (*responseRewrite)(nil)
	_ plugin.BodyFilterer   = (*responseRewrite)(nil)
	_ plugin.Logger         = (*responseRewrite)(nil)
)

// addLine is how APISIX reads an add entry ("Name: value").
var addLine = regexp.MustCompile(`^([^:\s]+)\s*:\s*([^:]+)$`)

func newResponseRewrite(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	p := &responseRewrite{status: c.StatusCode, maxBody: int(c.MaxRespBodySize)}
	if p.maxBody <= 0 {
		p.maxBody = 64 << 20
	}
	if len(c.Vars) > 0 && string(c.Vars) != "null" {
		e, err := expr.Compile(c.Vars)
		if err != nil {
			return nil, fmt.Errorf("failed to validate the 'vars' expression: %w", err)
		}
		p.vars = e
	}
	if c.Body != nil {
		p.body = []byte(*c.Body)
		if c.BodyBase64 {
			b, ok := ngxbase64.Decode(nil, []byte(*c.Body))
			if !ok {
				return nil, errBase64
			}
			p.body = b
		}
		p.rewriting = true
	}
	for _, f := range c.Filters {
		opts := f.Options
		if opts == "" {
			opts = "jo"
		}
		re, err := ngxre.Compile(f.Regex, opts)
		if err != nil {
			return nil, fmt.Errorf("regex %q validation failed: %w", f.Regex, err)
		}
		repl, err := ngxre.CompileReplacement(f.Replace)
		if err != nil {
			return nil, fmt.Errorf("regex %q validation failed: %w", f.Regex, err)
		}
		p.filters = append(p.filters, filter{re: re, repl: repl, global: f.Scope == "global"})
		p.rewriting = true
	}
	if len(c.Headers) > 0 && string(c.Headers) != "null" {
		if err := p.compileHeaders(c.Headers); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// compileHeaders compiles create_header_operation's result. As in APISIX,
// an add entry that does not read as "Name: value" disables every header
// edit of the conf. Unlike proxy-rewrite's, add is a list of such
// lines, a value is one string and templates have no regex captures.
func (p *responseRewrite) compileHeaders(raw json.RawMessage) error {
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("response-rewrite: headers: %w", err)
	}
	setOps := func(m map[string]any) []headerOp {
		var out []headerOp
		for _, name := range slices.Sorted(maps.Keys(m)) {
			s, _ := vartmpl.LuaString(m[name])
			out = append(out, headerOp{name: name, value: vartmpl.Compile(s, false)})
		}
		return out
	}
	if !plugin.IsHeaderOpsConf(h) {
		p.set = setOps(h)
		return nil
	}
	var add []headerOp
	if l, ok := h["add"].([]any); ok {
		for _, v := range l {
			s, _ := v.(string)
			m := addLine.FindStringSubmatch(s)
			if m == nil {
				return nil // APISIX logs "failed to create header operation" and edits nothing
			}
			add = append(add, headerOp{name: m[1], value: vartmpl.Compile(m[2], false)})
		}
	}
	p.add = add
	if m, ok := h["set"].(map[string]any); ok {
		p.set = setOps(m)
	}
	if l, ok := h["remove"].([]any); ok {
		for _, v := range l {
			s, _ := v.(string)
			p.remove = append(p.remove, s)
		}
	}
	return nil
}

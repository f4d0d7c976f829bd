package proxyrewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicegw/sluice/internal/ngxre"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
	"github.com/sluicegw/sluice/plugin"
)

func init() {
	plugin.Register(&plugin.Def{
		Name:     "proxy-rewrite",
		Priority: 1008,
		Version:  "0.1",
		Schema:   schema,
		Check:    check,
		New:      newProxyRewrite,
	})
}

// Errors of conf checks, with APISIX's texts.
var (
	errRegexOdd      = errors.New("The length of regex_uri should be an even number")
	errFieldLength   = errors.New("invalid field length in header")
	errFieldChar     = errors.New("invalid field character in header")
	errValueChar     = errors.New("invalid value character in header")
	errFieldType     = errors.New("invalid type as header field")
	errValueType     = errors.New("invalid type as header value")
	errHeadersFormat = errors.New("proxy-rewrite: headers: not an object")
)

// conf is the plugin's conf as decoded.
type conf struct {
	URI      *string         `json:"uri"`
	Method   string          `json:"method"`
	RegexURI []string        `json:"regex_uri"`
	Host     *string         `json:"host"`
	Headers  json.RawMessage `json:"headers"`
	Unsafe   bool            `json:"use_real_request_uri_unsafe"`
}

// regexPair is one compiled regex_uri pair.
type regexPair struct {
	re   *ngxre.Regexp
	repl *ngxre.Replacement
}

// headerOp is one header edit: a value per template (several for an array),
// or none for a remove.
type headerOp struct {
	name   string
	values []*vartmpl.Template
	// host marks a Host field: it becomes the upstream Host (nginx's $host
	// follows a rewritten Host header, and APISIX sends $host upstream).
	host bool
}

// proxyRewrite is a compiled conf. Immutable; shared by every loop.
type proxyRewrite struct {
	uri     *vartmpl.Template
	regex   []regexPair
	host    []byte
	method  []byte
	unsafe  bool
	add     []headerOp
	set     []headerOp
	remove  []string
	headers bool
	// captures is set when a header value refers to a regex capture.
	captures bool
}

var _ plugin.Rewriter = (*proxyRewrite)(nil)

func check(obj map[string]any, _ bool) error {
	if rx, ok := obj["regex_uri"].([]any); ok && len(rx) > 0 {
		if len(rx)%2 != 0 {
			return errRegexOdd
		}
		for i := 0; i < len(rx); i += 2 {
			p, _ := rx[i].(string)
			r, _ := rx[i+1].(string)
			if _, err := compilePair(p, r); err != nil {
				return err
			}
		}
	}
	h, ok := obj["headers"].(map[string]any)
	if !ok {
		return nil
	}
	if plugin.IsHeaderOpsConf(h) {
		return checkNames(h)
	}
	for field, value := range h {
		if len(field) == 0 {
			return errFieldLength
		}
		s, ok := vartmpl.LuaString(value)
		if !ok {
			return errValueType
		}
		if !validField(field) {
			return errFieldChar
		}
		if _, isStr := value.(string); isStr && !validValue(s) {
			return errValueChar
		}
	}
	return nil
}

// checkNames checks the header names of an {add, set, remove} conf.
func checkNames(h map[string]any) error {
	for _, op := range []string{"add", "set"} {
		if m, ok := h[op].(map[string]any); ok {
			for name := range m {
				if !validField(name) {
					return errFieldChar
				}
			}
		}
	}
	if l, ok := h["remove"].([]any); ok {
		for _, v := range l {
			if s, _ := v.(string); !validField(s) {
				return errFieldChar
			}
		}
	}
	return nil
}

func compilePair(pattern, replacement string) (regexPair, error) {
	re, err := ngxre.Compile(pattern, "jo")
	if err == nil {
		var repl *ngxre.Replacement
		if repl, err = ngxre.CompileReplacement(replacement); err == nil {
			return regexPair{re: re, repl: repl}, nil
		}
	}
	return regexPair{}, fmt.Errorf("invalid regex_uri(%s, %s): %w", pattern, replacement, err)
}

// validField is core.utils.validate_header_field (plugin.ValidHeaderField)
// that also refuses an empty name, which response-rewrite's check lets
// through.
func validField(f string) bool { return f != "" && plugin.ValidHeaderField(f) }

// validValue is core.utils.validate_header_value: no control characters.
func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 32 || b >= 127 {
			return false
		}
	}
	return true
}

func newProxyRewrite(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	p := &proxyRewrite{unsafe: c.Unsafe}
	if c.URI != nil {
		p.uri = vartmpl.Compile(*c.URI, false)
	}
	if len(c.RegexURI)%2 != 0 {
		return nil, errRegexOdd
	}
	for i := 0; i+1 < len(c.RegexURI); i += 2 {
		pair, err := compilePair(c.RegexURI[i], c.RegexURI[i+1])
		if err != nil {
			return nil, err
		}
		p.regex = append(p.regex, pair)
	}
	if c.Host != nil {
		p.host = []byte(*c.Host)
	}
	if c.Method != "" {
		p.method = []byte(c.Method)
	}
	if len(c.Headers) > 0 && string(c.Headers) != "null" {
		if err := p.compileHeaders(c.Headers); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// compileHeaders compiles the headers conf: the legacy map sets every
// field; {add, set, remove} as written. Fields are ordered by name (Lua's
// pairs has no order; sorting makes ours stable).
//
// It reads the conf as proxy-rewrite.lua does, not as response-rewrite's
// compileHeaders: add is a map like set, a value may be a list, and values
// may name regex captures.
func (p *proxyRewrite) compileHeaders(raw json.RawMessage) error {
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("proxy-rewrite: headers: %w", err)
	}
	if h == nil {
		return errHeadersFormat
	}
	p.headers = true
	ops := func(m map[string]any) ([]headerOp, error) {
		var out []headerOp
		for _, name := range slices.Sorted(maps.Keys(m)) {
			op := headerOp{name: name, host: strings.EqualFold(name, "host")}
			vals, isList := m[name].([]any)
			if !isList {
				vals = []any{m[name]}
			}
			for _, v := range vals {
				s, ok := vartmpl.LuaString(v)
				if !ok {
					return nil, errValueType
				}
				t := vartmpl.Compile(s, true)
				p.captures = p.captures || t.HasCaptures()
				op.values = append(op.values, t)
			}
			out = append(out, op)
		}
		return out, nil
	}
	var err error
	if !plugin.IsHeaderOpsConf(h) {
		p.set, err = ops(h)
		return err
	}
	if m, ok := h["add"].(map[string]any); ok {
		if p.add, err = ops(m); err != nil {
			return err
		}
	}
	if m, ok := h["set"].(map[string]any); ok {
		if p.set, err = ops(m); err != nil {
			return err
		}
	}
	if l, ok := h["remove"].([]any); ok {
		for _, v := range l {
			s, _ := v.(string)
			p.remove = append(p.remove, s)
		}
	}
	return nil
}

// scratch is a loop's buffers for building the new uri and header values.
type scratch struct {
	src, out, enc, val, esc []byte
}

var scratchKey = reqctx.NewLocalKey(func() any { return new(scratch) })

// Rewrite implements plugin.Rewriter: proxy-rewrite.lua's rewrite.
func (p *proxyRewrite) Rewrite(c *reqctx.Ctx) reqctx.Result {
	if p.host != nil {
		c.SetUpstreamHost(p.host)
	}
	s := c.Loop.Local(scratchKey).(*scratch)
	var caps vartmpl.Captures
	upstream := c.URI()
	var query []byte // the raw request's query, '?' included (unsafe mode)
	if p.unsafe {
		upstream = c.Req.Target.Of(c.Head)
		if i := bytes.IndexByte(upstream, '?'); i >= 0 {
			query = upstream[i:]
		}
	}
	sepEscaped := false
	switch {
	case p.uri != nil:
		sepEscaped = true
		out := p.uri.Append(s.out[:0], c, nil, vartmpl.EscapeSeparator)
		if len(query) > 0 {
			if bytes.IndexByte(out, '?') >= 0 {
				out = append(append(out, '&'), query[1:]...)
			} else {
				out = append(out, query...)
			}
		}
		s.out = out
		upstream = out
	case p.regex != nil:
		sepEscaped = bytes.IndexByte(upstream, '?') < 0
		src := append(s.src[:0], upstream...)
		s.src = src
		for i := range p.regex {
			rp := &p.regex[i]
			if !rp.re.Match(src) {
				continue
			}
			m := rp.re.FindSubmatchIndex(src)
			if m == nil {
				continue
			}
			caps = vartmpl.Captures{Subject: src, Index: m}
			out := append(s.out[:0], src[:m[0]]...)
			out = rp.repl.Append(out, src, m)
			out = append(out, src[m[1]:]...)
			s.out = out
			upstream = out
			break
		}
	}
	p.setURI(c, s, upstream, sepEscaped)
	if p.headers {
		p.editHeaders(c, s, &caps)
	}
	if p.method != nil {
		c.SetMethod(p.method)
	}
	return reqctx.Continue
}

// setURI hands the new upstream uri to the request context: its path
// (encoded unless unsafe) as $uri, a query it carries as $args.
func (p *proxyRewrite) setURI(c *reqctx.Ctx, s *scratch, upstream []byte, sepEscaped bool) {
	if p.unsafe {
		path, q, _ := bytes.Cut(upstream, question)
		c.SetURI(path)
		c.SetArgs(q)
		return
	}
	idx := -1
	if sepEscaped {
		idx = bytes.IndexByte(upstream, '?')
	}
	if idx < 0 {
		s.enc = vartmpl.AppendEscapedURI(s.enc[:0], upstream)
		c.SetURI(s.enc)
		return
	}
	s.enc = vartmpl.AppendEscapedURI(s.enc[:0], upstream[:idx])
	c.SetURI(s.enc)
	q := vartmpl.AppendEscapedControls(s.enc[:0], upstream[idx+1:])
	if args := c.Args(); len(args) > 0 {
		q = append(append(q, '&'), args...)
	}
	s.enc = q
	c.SetArgs(q)
}

var question = []byte("?")

// editHeaders applies add, then set, then remove, as APISIX does.
func (p *proxyRewrite) editHeaders(c *reqctx.Ctx, s *scratch, caps *vartmpl.Captures) {
	for i := range p.add {
		op := &p.add[i]
		for _, t := range op.values {
			if v := p.expand(c, s, t, caps); len(v) > 0 {
				if op.host {
					c.SetUpstreamHost(v)
					continue
				}
				c.AddHeader(op.name, v)
			}
		}
	}
	for i := range p.set {
		op := &p.set[i]
		n := 0
		for _, t := range op.values {
			v := p.expand(c, s, t, caps)
			if len(v) == 0 {
				continue
			}
			if op.host {
				c.SetUpstreamHost(v)
				n++
				continue
			}
			if n == 0 {
				c.SetHeader(op.name, v)
			} else {
				c.AddHeader(op.name, v)
			}
			n++
		}
		if n == 0 && !op.host {
			c.DelHeader(op.name) // an empty value removes the header (nginx)
		}
	}
	for _, name := range p.remove {
		c.DelHeader(name)
	}
}

// expand resolves a header value: captures, then variables; control
// characters are percent-encoded so the value stays one header line.
func (p *proxyRewrite) expand(c *reqctx.Ctx, s *scratch, t *vartmpl.Template, caps *vartmpl.Captures) []byte {
	if v, ok := t.Static(); ok {
		return v
	}
	s.val = t.Append(s.val[:0], c, caps, nil)
	if vartmpl.HasControl(s.val) {
		s.esc = vartmpl.AppendEscapedControls(s.esc[:0], s.val)
		return s.esc
	}
	return s.val
}

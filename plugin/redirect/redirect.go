package redirect

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/ngxre"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
	"github.com/sluicegw/sluice/plugin"
)

// schema is redirect.lua's schema, as JSON (the uri pattern is its template
// grammar).
const schema = `{
  "type": "object",
  "properties": {
    "ret_code": {"type": "integer", "minimum": 200, "default": 302},
    "uri": {"type": "string", "minLength": 2, "pattern": "(\\\\\\$[0-9a-zA-Z_]+)|\\$\\{([0-9a-zA-Z_]+)\\}|\\$([0-9a-zA-Z_]+)|(\\$|[^$\\\\]+)"},
    "regex_uri": {
      "description": "params for generating new uri that substitute from client uri, first param is regular expression, the second one is uri template",
      "type": "array", "maxItems": 2, "minItems": 2, "items": {"description": "regex uri", "type": "string"}
    },
    "http_to_https": {"type": "boolean"},
    "encode_uri": {"type": "boolean", "default": false},
    "append_query_string": {"type": "boolean", "default": false}
  },
  "oneOf": [
    {"required": ["uri"]},
    {"required": ["regex_uri"]},
    {"required": ["http_to_https"]}
  ]
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:     "redirect",
		Priority: 900,
		Version:  "0.1",
		Schema:   schema,
		Check:    check,
		New:      newRedirect,
	})
}

// errBoth is APISIX's refusal of http_to_https with append_query_string.
var errBoth = errors.New("only one of `http_to_https` and `append_query_string` can be configured.")

type conf struct {
	RetCode           int      `json:"ret_code"`
	URI               *string  `json:"uri"`
	RegexURI          []string `json:"regex_uri"`
	HTTPToHTTPS       bool     `json:"http_to_https"`
	EncodeURI         bool     `json:"encode_uri"`
	AppendQueryString bool     `json:"append_query_string"`
}

// redirect is a compiled conf. Immutable; shared by every loop.
type redirect struct {
	retCode     int
	uri         *vartmpl.Template
	re          *ngxre.Regexp
	repl        *ngxre.Replacement
	toHTTPS     bool
	encode      bool
	appendQuery bool
}

var _ plugin.Rewriter = (*redirect)(nil)

func check(obj map[string]any, _ bool) error {
	if rx, ok := obj["regex_uri"].([]any); ok && len(rx) == 2 {
		p, _ := rx[0].(string)
		r, _ := rx[1].(string)
		if _, _, err := compileRegex(p, r); err != nil {
			return err
		}
	}
	if h, _ := obj["http_to_https"].(bool); h {
		if a, _ := obj["append_query_string"].(bool); a {
			return errBoth
		}
	}
	return nil
}

func compileRegex(pattern, replacement string) (*ngxre.Regexp, *ngxre.Replacement, error) {
	re, err := ngxre.Compile(pattern, "jo")
	if err == nil {
		var repl *ngxre.Replacement
		if repl, err = ngxre.CompileReplacement(replacement); err == nil {
			return re, repl, nil
		}
	}
	return nil, nil, fmt.Errorf("invalid regex_uri (%s, %s), err:%w", pattern, replacement, err)
}

func newRedirect(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	r := &redirect{retCode: c.RetCode, toHTTPS: c.HTTPToHTTPS, encode: c.EncodeURI, appendQuery: c.AppendQueryString}
	if r.retCode == 0 {
		r.retCode = 302
	}
	if c.URI != nil {
		r.uri = vartmpl.CompileRedirect(*c.URI)
	}
	if len(c.RegexURI) == 2 {
		var err error
		if r.re, r.repl, err = compileRegex(c.RegexURI[0], c.RegexURI[1]); err != nil {
			return nil, err
		}
	}
	return r, nil
}

var (
	hdrLocation   = "Location"
	httpsPrefix   = []byte("https://")
	schemeHTTPS   = []byte("https")
	varRequestURI = expr.ParseVar("request_uri")
	varScheme     = expr.ParseVar("scheme")
)

// buf is a loop's buffers for the Location.
type buf struct{ loc, enc []byte }

var bufKey = reqctx.NewLocalKey(func() any { return new(buf) })

// Rewrite implements plugin.Rewriter: redirect.lua's rewrite.
func (r *redirect) Rewrite(c *reqctx.Ctx) reqctx.Result {
	b := c.Loop.Local(bufKey).(*buf)
	code := r.retCode
	loc := b.loc[:0]
	switch {
	case r.toHTTPS && !r.isHTTPS(c):
		loc = append(loc, httpsPrefix...)
		loc = append(loc, c.Host()...)
		target, _ := c.Value(&varRequestURI)
		loc = append(loc, target...)
		code = 308
		if m := c.Method(); string(m) == "GET" || string(m) == "HEAD" {
			code = 301
		}
	case r.uri != nil:
		loc = r.uri.Append(loc, c, nil, nil)
	case r.re != nil:
		var ok bool
		if loc, ok = ngxre.Sub(loc, c.URI(), r.re, r.repl); !ok {
			b.loc = loc
			return reqctx.Continue
		}
	default:
		return reqctx.Continue
	}
	if r.encode {
		path, query := loc, []byte(nil)
		if i := bytes.IndexByte(loc, '?'); i >= 0 {
			path, query = loc[:i], loc[i:]
		}
		enc := vartmpl.AppendEscapedURI(b.enc[:0], path)
		enc = append(enc, query...)
		loc, b.enc = enc, loc // swap: the old Location's storage is next time's scratch
	}
	if r.appendQuery {
		if args := c.Args(); len(args) > 0 {
			if bytes.IndexByte(loc, '?') >= 0 {
				loc = append(loc, '&')
			} else {
				loc = append(loc, '?')
			}
			loc = append(loc, args...)
		}
	}
	if vartmpl.HasControl(loc) {
		enc := vartmpl.AppendEscapedControls(b.enc[:0], loc)
		loc, b.enc = enc, loc
	}
	b.loc = loc
	c.SetRespHeader(hdrLocation, loc)
	return c.Exit(code, nil)
}

// isHTTPS reports whether the client spoke https: X-Forwarded-Proto when
// sent, else the connection's scheme.
func (r *redirect) isHTTPS(c *reqctx.Ctx) bool {
	if p, ok := c.Header("X-Forwarded-Proto"); ok {
		return bytes.Equal(p, schemeHTTPS)
	}
	s, _ := c.Value(&varScheme)
	return bytes.Equal(s, schemeHTTPS)
}

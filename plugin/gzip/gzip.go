package gzip

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

// schema is APISIX's (apisix/plugins/gzip.lua), defaults included.
const schema = `{
  "type": "object",
  "properties": {
    "types": {
      "anyOf": [
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        {"enum": ["*"]}
      ],
      "default": ["text/html"]
    },
    "min_length": {"type": "integer", "minimum": 1, "default": 20},
    "comp_level": {"type": "integer", "minimum": 1, "maximum": 9, "default": 1},
    "http_version": {"enum": [1.1, 1.0], "default": 1.1},
    "buffers": {
      "type": "object",
      "properties": {
        "number": {"type": "integer", "minimum": 1, "default": 32},
        "size": {"type": "integer", "minimum": 1, "default": 4096}
      },
      "default": {"number": 32, "size": 4096}
    },
    "vary": {"type": "boolean"}
  }
}`

// errBadTypes: a types value the schema should have refused.
var errBadTypes = errors.New("gzip: types must be a list of media types or \"*\"")

func init() {
	plugin.Register(&plugin.Def{
		Name:     "gzip",
		Priority: 995,
		Version:  "0.1",
		Schema:   schema,
		New:      newGzip,
	})
}

// conf is the plugin's conf as APISIX defines it.
type conf struct {
	Types       any     `json:"types"` // []any of strings, or "*"
	MinLength   int64   `json:"min_length"`
	CompLevel   int     `json:"comp_level"`
	HTTPVersion float64 `json:"http_version"`
	Vary        bool    `json:"vary"`
}

// gz is one compiled conf. Immutable; shared by every loop.
type gz struct {
	anyType   bool
	types     [][]byte // media types compared exactly (APISIX compares strings)
	minLength int64
	level     int
	http10    bool // http_version 1.0: HTTP/1.0 requests qualify too
	vary      bool
}

var (
	_ plugin.HeaderFilterer = (*gz)(nil)
	_ plugin.BodyFilterer   = (*gz)(nil)
	_ plugin.Logger         = (*gz)(nil)
)

func newGzip(_ *plugin.Env, raw []byte) (any, error) {
	var cf conf
	if err := plugin.Decode(raw, &cf); err != nil {
		return nil, err
	}
	g := &gz{minLength: cf.MinLength, level: cf.CompLevel, http10: cf.HTTPVersion < 1.05, vary: cf.Vary}
	switch t := cf.Types.(type) {
	case string:
		g.anyType = t == "*"
	case []any:
		for _, v := range t {
			s, _ := v.(string)
			g.types = append(g.types, []byte(s))
		}
	default:
		return nil, fmt.Errorf("compiling %v: %w", cf.Types, errBadTypes)
	}
	if g.level < 1 || g.level > 9 {
		g.level = 1
	}
	return g, nil
}

// Header names and values, written once.
const (
	hdrContentType     = "Content-Type"
	hdrContentEncoding = "Content-Encoding"
	hdrAcceptEncoding  = "Accept-Encoding"
	hdrAcceptRanges    = "Accept-Ranges"
	hdrETag            = "ETag"
	hdrVary            = "Vary"
	hdrVia             = "Via"
)

var (
	valGzip           = []byte("gzip")
	valAcceptEncoding = []byte("Accept-Encoding")
	methodHEAD        = []byte("HEAD")
	protoHTTP10       = []byte("HTTP/1.0")
	weakPrefix        = []byte("W/")
	varProtocol       = expr.Var{Kind: expr.VarServerProtocol}
)

// HeaderFilter decides whether the response is compressed: APISIX's Lua
// checks, then nginx's gzip header filter's (see the package doc).
func (g *gz) HeaderFilter(c *reqctx.Ctx) {
	ct, ok := c.RespHeader(hdrContentType)
	if !ok {
		return // like nginx: no Content-Type, no gzip
	}
	if !g.anyType && !g.typeMatches(ct) {
		return
	}
	if c.Resp != nil && c.Resp.HasLength && c.Resp.ContentLength < g.minLength {
		return
	}
	if !g.http10 {
		if p, _ := c.Value(&varProtocol); bytes.Equal(p, protoHTTP10) {
			return
		}
	}
	if g.vary {
		c.AddRespHeader(hdrVary, valAcceptEncoding)
	}
	// nginx's gzip header filter and ngx_http_gzip_ok.
	if s := c.Status; s != 200 && s != 403 && s != 404 {
		return
	}
	if ce, ok := c.RespHeader(hdrContentEncoding); ok && len(ce) > 0 {
		return
	}
	if bytes.Equal(c.Method(), methodHEAD) {
		return
	}
	if ae, ok := c.Header(hdrAcceptEncoding); !ok || !AcceptsGzip(ae) {
		return
	}
	if _, via := c.Header(hdrVia); via {
		return // gzip_proxied off: nginx never compresses for proxies
	}
	c.BodyRewrite = true
	c.SetRespHeader(hdrContentEncoding, valGzip)
	if c.Resp != nil {
		if _, ok := c.RespHeader(hdrAcceptRanges); ok {
			c.DelRespHeader(hdrAcceptRanges)
		}
	}
	g.weakenETag(c)
	c.SetLocal(streamKey, g) // compress this response: BodyFilter picks a writer
}

func (g *gz) typeMatches(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	for _, t := range g.types {
		if bytes.Equal(ct, t) {
			return true
		}
	}
	return false
}

// weakenETag is ngx_http_weak_etag: a strong ETag becomes weak (the
// compressed bytes differ from the original's), a weak one stays, anything
// else is dropped.
func (g *gz) weakenETag(c *reqctx.Ctx) {
	etag, ok := c.RespHeader(hdrETag)
	if !ok {
		return
	}
	switch {
	case bytes.HasPrefix(etag, weakPrefix):
	case len(etag) > 0 && etag[0] == '"':
		pl := c.Loop.Local(poolKey).(*loopPool)
		pl.scratch = append(append(pl.scratch[:0], weakPrefix...), etag...)
		c.SetRespHeader(hdrETag, pl.scratch)
	default:
		c.DelRespHeader(hdrETag)
	}
}

// AcceptsGzip reports whether an Accept-Encoding value accepts gzip, as
// nginx's ngx_http_gzip_accept_encoding decides: a "gzip" token (preceded
// by the start, ',' or ' ') whose q, if given, is not zero.
func AcceptsGzip(ae []byte) bool {
	start := 0
	p := -1
	for {
		i := indexFold(ae[start:], "gzip")
		if i < 0 {
			return false
		}
		i += start
		if i == 0 || ae[i-1] == ',' || ae[i-1] == ' ' {
			p = i + 4
			break
		}
		start = i + 4
	}
	for p < len(ae) {
		c := ae[p]
		p++
		switch c {
		case ',':
			return true
		case ';':
			return quantity(ae, p)
		case ' ':
		default:
			return false
		}
	}
	return true
}

// quantity reads ";q=..." after a gzip token (from just past the ';').
func quantity(ae []byte, p int) bool {
	for p < len(ae) {
		c := ae[p]
		p++
		switch c {
		case 'q', 'Q':
			if p+2 > len(ae) || ae[p] != '=' {
				return false
			}
			return qValue(ae[p+1:]) != 0
		case ' ':
		default:
			return false
		}
	}
	return true
}

// qValue is ngx_http_gzip_quantity: only whether it is zero matters.
func qValue(b []byte) int {
	if len(b) == 0 || (b[0] != '0' && b[0] != '1') {
		return 0
	}
	q := int(b[0]-'0') * 100
	b = b[1:]
	if len(b) == 0 {
		return q
	}
	if b[0] == ',' || b[0] == ' ' {
		return q
	}
	if b[0] != '.' {
		return 0
	}
	n := 0
	for _, c := range b[1:] {
		if c == ',' || c == ' ' {
			break
		}
		if c < '0' || c > '9' {
			return 0
		}
		q += int(c - '0')
		n++
	}
	if q > 100 || n > 3 {
		return 0
	}
	return q
}

// indexFold finds lower-case needle in b, ASCII case-insensitively.
func indexFold(b []byte, needle string) int {
	for i := 0; i+len(needle) <= len(b); i++ {
		match := true
		for j := 0; j < len(needle); j++ {
			c := b[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != needle[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

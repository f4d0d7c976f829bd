package responserewrite

import (
	"bytes"
	"compress/gzip"
	"io"

	"github.com/sluicegw/sluice/internal/ngxre"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/internal/vartmpl"
)

// encoding is the response's Content-Encoding as far as filters care.
type encoding uint8

const (
	encIdentity encoding = iota
	encGzip
	encOther // not decodable: filters pass the body through
)

// state is one instance's per-request state: whether the response matched
// and the body being buffered for filters. Loop-only; recycled through the
// loop's free list when the request is logged.
type state struct {
	owner   *responseRewrite
	next    *state // another instance's state on the same request
	matched bool
	enc     encoding
	sent    bool // body: already sent
	done    bool // filters: the output has gone
	buf     []byte
	a, b    []byte // filter outputs, alternately
}

// keepBuf is the largest buffer a recycled state keeps.
const keepBuf = 1 << 20

var (
	stateKey = reqctx.NewLocalKey(func() any { return nil })
	freeKey  = reqctx.NewLocalKey(func() any { return new([]*state) })
)

func (p *responseRewrite) state(c *reqctx.Ctx) *state {
	st, _ := c.Local(stateKey).(*state)
	for ; st != nil; st = st.next {
		if st.owner == p {
			return st
		}
	}
	return nil
}

func (p *responseRewrite) newState(c *reqctx.Ctx) *state {
	free := c.Loop.Local(freeKey).(*[]*state)
	var st *state
	if n := len(*free); n > 0 {
		st = (*free)[n-1]
		*free = (*free)[:n-1]
	} else {
		st = &state{}
	}
	st.owner = p
	st.next, _ = c.Local(stateKey).(*state)
	c.SetLocal(stateKey, st)
	return st
}

var (
	gzipName   = []byte("gzip")
	brotliName = []byte("br")
)

// HeaderFilter implements plugin.HeaderFilterer: response-rewrite.lua's
// header_filter.
func (p *responseRewrite) HeaderFilter(c *reqctx.Ctx) {
	if p.vars != nil && !p.vars.Eval(c) {
		return
	}
	st := p.newState(c)
	st.matched = true
	if p.status != 0 {
		c.Status = p.status
	}
	if p.rewriting {
		ce, _ := c.RespHeader("Content-Encoding")
		switch {
		case len(ce) == 0:
		case bytes.EqualFold(ce, gzipName):
			st.enc = encGzip
		default:
			st.enc = encOther
		}
		if p.body != nil || !bytes.EqualFold(ce, brotliName) {
			c.DelRespHeader("Content-Encoding")
			c.DelRespHeader("Last-Modified")
			c.DelRespHeader("ETag")
			c.BodyRewrite = true
		} else {
			st.done = true // brotli: filters leave it alone (see doc)
		}
	}
	p.editHeaders(c, st)
}

func (p *responseRewrite) editHeaders(c *reqctx.Ctx, st *state) {
	for i := range p.add {
		if v := p.expand(c, st, p.add[i].value); len(v) > 0 {
			c.AddRespHeader(p.add[i].name, v)
		}
	}
	for i := range p.set {
		if v := p.expand(c, st, p.set[i].value); len(v) > 0 {
			c.SetRespHeader(p.set[i].name, v)
		} else {
			c.DelRespHeader(p.set[i].name) // "" removes, as ngx.header does
		}
	}
	for _, name := range p.remove {
		c.DelRespHeader(name)
	}
}

// expand resolves a header value into st's scratch, control characters
// percent-encoded.
func (p *responseRewrite) expand(c *reqctx.Ctx, st *state, t *vartmpl.Template) []byte {
	if v, ok := t.Static(); ok {
		return v
	}
	st.a = t.Append(st.a[:0], c, nil, nil)
	if vartmpl.HasControl(st.a) {
		st.b = vartmpl.AppendEscapedControls(st.b[:0], st.a)
		return st.b
	}
	return st.a
}

// BodyFilter implements plugin.BodyFilterer: the new body once, or the
// buffered body filtered at its end (or at max_resp_body_size).
func (p *responseRewrite) BodyFilter(c *reqctx.Ctx, data []byte, eof bool) []byte {
	st := p.state(c)
	if st == nil || !st.matched || !p.rewriting {
		return data
	}
	if p.body != nil {
		if st.sent {
			return nil
		}
		st.sent = true
		return p.body
	}
	if st.done {
		if st.enc == encOther || !c.BodyRewrite {
			return data
		}
		return nil // past max_resp_body_size: cut (see doc)
	}
	if room := p.maxBody - len(st.buf); len(data) >= room {
		st.buf = append(st.buf, data[:room]...)
		st.done = true
		return p.run(st)
	}
	st.buf = append(st.buf, data...)
	if !eof {
		return nil
	}
	st.done = true
	return p.run(st)
}

// run filters the buffered body.
func (p *responseRewrite) run(st *state) []byte {
	body := st.buf
	switch st.enc {
	case encOther:
		return body
	case encGzip:
		dec, err := inflate(st.a[:0], body, p.maxBody)
		st.a = dec[:0]
		if err != nil {
			return body
		}
		st.buf, st.a = dec, st.buf[:0] // the inflated body is the one to filter
		body = st.buf
	}
	for i := range p.filters {
		f := &p.filters[i]
		var out []byte
		if f.global {
			out = ngxre.GSub(st.a[:0], body, f.re, f.repl)
		} else {
			out, _ = ngxre.Sub(st.a[:0], body, f.re, f.repl)
		}
		st.a, st.buf = st.buf[:0], out
		body = out
	}
	return body
}

// inflate appends the gunzipped src, at most limit bytes, to dst.
func inflate(dst, src []byte, limit int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return dst, err
	}
	w := bytes.NewBuffer(dst)
	_, err = io.Copy(w, io.LimitReader(zr, int64(limit)))
	return w.Bytes(), err
}

// Log implements plugin.Logger: the request's states go back to the loop's
// free list.
func (p *responseRewrite) Log(c *reqctx.Ctx) {
	st, _ := c.Local(stateKey).(*state)
	if st == nil {
		return
	}
	c.SetLocal(stateKey, nil)
	free := c.Loop.Local(freeKey).(*[]*state)
	for st != nil {
		next := st.next
		*st = state{buf: trim(st.buf), a: trim(st.a), b: trim(st.b)}
		*free = append(*free, st)
		st = next
	}
}

func trim(b []byte) []byte {
	if cap(b) > keepBuf {
		return nil
	}
	return b[:0]
}

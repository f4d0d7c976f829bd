package reqctx

import (
	"github.com/sluicegw/sluice/expr"
	"github.com/sluicegw/sluice/http1"
	"github.com/sluicegw/sluice/internal/bytestr"
)

type headerOp uint8

const (
	opSet headerOp = iota // replace every field of the name
	opAdd                 // add a field, keeping the others
	opDel                 // remove every field of the name
)

// headerEdit is one change to the request's or response's header fields,
// its name and value in the arena. Edits apply in order: a later set or
// delete of a name overrides earlier sets and adds of it.
type headerEdit struct {
	op          headerOp
	name, value span
}

func (c *Ctx) edit(edits []headerEdit, op headerOp, name string, value []byte) []headerEdit {
	e := headerEdit{op: op, name: c.storeString(name)}
	if op != opDel {
		e.value = c.store(value)
	}
	return append(edits, e)
}

// SetHeader replaces the request header name (every field of it) in what
// is sent upstream and in what later hooks read.
func (c *Ctx) SetHeader(name string, value []byte) {
	c.reqEdits = c.edit(c.reqEdits, opSet, name, value)
}

// AddHeader adds a request header field, keeping existing ones.
func (c *Ctx) AddHeader(name string, value []byte) {
	c.reqEdits = c.edit(c.reqEdits, opAdd, name, value)
}

// DelHeader removes the request header name.
func (c *Ctx) DelHeader(name string) { c.reqEdits = c.edit(c.reqEdits, opDel, name, nil) }

// SetRespHeader replaces the response header name in the head sent to the
// client, whoever produced the response (upstream or gateway).
func (c *Ctx) SetRespHeader(name string, value []byte) {
	c.resEdits = c.edit(c.resEdits, opSet, name, value)
}

// AddRespHeader adds a response header field.
func (c *Ctx) AddRespHeader(name string, value []byte) {
	c.resEdits = c.edit(c.resEdits, opAdd, name, value)
}

// DelRespHeader removes the response header name.
func (c *Ctx) DelRespHeader(name string) { c.resEdits = c.edit(c.resEdits, opDel, name, nil) }

// nameMatch compares a header name with a name given by a plugin
// (case-insensitively) or, when asVar, with an http_ variable name (lower
// case, '_' for '-').
func nameMatch(h []byte, name string, asVar bool) bool {
	if asVar {
		return expr.HeaderNameMatches(h, name)
	}
	return http1.EqualFold(h, bytestr.Bytes(name))
}

// lookup finds name among fields through edits: the last set or delete
// edit decides; otherwise the first original field, else the first add.
func (c *Ctx) lookup(edits []headerEdit, fields []http1.Header, head []byte, name string, asVar bool) ([]byte, bool) {
	for i := len(edits) - 1; i >= 0; i-- {
		e := &edits[i]
		if e.op == opAdd || !nameMatch(c.bytes(e.name), name, asVar) {
			continue
		}
		if e.op == opDel {
			return nil, false
		}
		return c.bytes(e.value), true
	}
	for i := range fields {
		if h := &fields[i]; nameMatch(h.Name.Of(head), name, asVar) {
			return h.Value.Of(head), true
		}
	}
	for i := range edits {
		if e := &edits[i]; nameMatch(c.bytes(e.name), name, asVar) {
			return c.bytes(e.value), true
		}
	}
	return nil, false
}

// Header returns the request header name (the first field, after edits).
func (c *Ctx) Header(name string) ([]byte, bool) {
	return c.lookup(c.reqEdits, c.Req.Headers, c.Head, name, false)
}

// RespHeader returns the response header name, after edits. Outside
// header_filter only edits are visible (the upstream head is gone).
func (c *Ctx) RespHeader(name string) ([]byte, bool) {
	var fields []http1.Header
	if c.Resp != nil {
		fields = c.Resp.Headers
	}
	return c.lookup(c.resEdits, fields, c.RespHead, name, false)
}

// overridden reports whether a set or delete edit names the field h.
func (c *Ctx) overridden(edits []headerEdit, h []byte) bool {
	for i := range edits {
		if e := &edits[i]; e.op != opAdd && nameMatch(h, string(c.bytes(e.name)), false) {
			return true
		}
	}
	return false
}

// ReqEdited reports whether the original request field named h is
// replaced or removed by an edit (the engine then leaves it out).
func (c *Ctx) ReqEdited(h []byte) bool { return len(c.reqEdits) > 0 && c.overridden(c.reqEdits, h) }

// RespEdited is ReqEdited for response fields.
func (c *Ctx) RespEdited(h []byte) bool { return len(c.resEdits) > 0 && c.overridden(c.resEdits, h) }

// HasReqEdits and HasRespEdits report whether any edit was made.
func (c *Ctx) HasReqEdits() bool  { return len(c.reqEdits) > 0 }
func (c *Ctx) HasRespEdits() bool { return len(c.resEdits) > 0 }

// appendEdits appends the field lines the edits add: each set or add that
// no later set or delete of its name overrides, and whose name is not in
// skip.
func (c *Ctx) appendEdits(dst []byte, edits []headerEdit, skip []string) []byte {
	for i := range edits {
		e := &edits[i]
		if e.op == opDel {
			continue
		}
		name := c.bytes(e.name)
		if skipped(name, skip) {
			continue
		}
		later := false
		for j := i + 1; j < len(edits) && !later; j++ {
			f := &edits[j]
			later = f.op != opAdd && nameMatch(c.bytes(f.name), string(name), false)
		}
		if !later {
			dst = append(dst, name...)
			dst = append(dst, ": "...)
			dst = append(dst, c.bytes(e.value)...)
			dst = append(dst, "\r\n"...)
		}
	}
	return dst
}

func skipped(name []byte, skip []string) bool {
	for _, s := range skip {
		if nameMatch(name, s, false) {
			return true
		}
	}
	return false
}

// AppendReqEdits appends the request field lines edits add.
func (c *Ctx) AppendReqEdits(dst []byte) []byte { return c.appendEdits(dst, c.reqEdits, nil) }

// AppendReqEditsExcept is AppendReqEdits without the fields named in skip:
// those the engine writes itself from their edited values (X-Forwarded-For,
// which nginx extends with the client's address, and X-Real-IP, which it
// always sets).
func (c *Ctx) AppendReqEditsExcept(dst []byte, skip []string) []byte {
	return c.appendEdits(dst, c.reqEdits, skip)
}

// AppendRespEdits appends the response field lines edits add.
func (c *Ctx) AppendRespEdits(dst []byte) []byte { return c.appendEdits(dst, c.resEdits, nil) }

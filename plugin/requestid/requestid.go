package requestid

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"time"

	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

const defaultCharSet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIGKLMNOPQRSTUVWXYZ0123456789"

const schema = `{
  "type": "object",
  "properties": {
    "header_name": {"type": "string", "default": "X-Request-Id"},
    "include_in_response": {"type": "boolean", "default": true},
    "algorithm": {"type": "string", "enum": ["uuid", "nanoid", "range_id", "ksuid", "uuidv7"], "default": "uuid"},
    "range_id": {
      "type": "object",
      "properties": {
        "length": {"type": "integer", "minimum": 6, "default": 16},
        "char_set": {"type": "string", "minLength": 6, "default": "` + defaultCharSet + `"}
      },
      "default": {"length": 16, "char_set": "` + defaultCharSet + `"}
    }
  }
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:     "request-id",
		Priority: 12015,
		Version:  "0.1",
		Schema:   schema,
		New:      newRequestID,
	})
}

// algorithm is a closed set, decoded once.
type algorithm uint8

const (
	algUUID algorithm = iota
	algUUIDv7
	algNanoID
	algRangeID
	algKSUID
)

func (a algorithm) String() string {
	return [...]string{"uuid", "uuidv7", "nanoid", "range_id", "ksuid"}[a]
}

type conf struct {
	HeaderName        string `json:"header_name"`
	IncludeInResponse bool   `json:"include_in_response"`
	Algorithm         string `json:"algorithm"`
	RangeID           struct {
		Length  int    `json:"length"`
		CharSet string `json:"char_set"`
	} `json:"range_id"`
}

// requestID is a compiled conf. Immutable; shared by every loop.
type requestID struct {
	header  string
	include bool
	alg     algorithm
	length  int
	charSet string
}

var (
	_ plugin.Rewriter       = (*requestID)(nil)
	_ plugin.HeaderFilterer = (*requestID)(nil)
)

func newRequestID(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := plugin.Decode(raw, &c); err != nil {
		return nil, err
	}
	p := &requestID{header: c.HeaderName, include: c.IncludeInResponse, length: c.RangeID.Length, charSet: c.RangeID.CharSet}
	if p.header == "" && c.HeaderName == "" {
		p.header = "X-Request-Id"
	}
	switch c.Algorithm {
	case "uuidv7":
		p.alg = algUUIDv7
	case "nanoid":
		p.alg = algNanoID
	case "range_id":
		p.alg = algRangeID
	case "ksuid":
		p.alg = algKSUID
	}
	if p.length <= 0 {
		p.length = 16
	}
	if p.charSet == "" {
		p.charSet = defaultCharSet
	}
	return p, nil
}

// Rewrite implements plugin.Rewriter: a request without the header gets a
// new id.
func (p *requestID) Rewrite(c *reqctx.Ctx) reqctx.Result {
	if v, ok := c.Header(p.header); ok && len(v) > 0 {
		return reqctx.Continue
	}
	g := c.Loop.Local(genKey).(*generator)
	c.SetHeader(p.header, g.next(p, time.Now()))
	return reqctx.Continue
}

// HeaderFilter implements plugin.HeaderFilterer: the id goes into the
// answer unless the upstream sent one.
func (p *requestID) HeaderFilter(c *reqctx.Ctx) {
	if !p.include {
		return
	}
	if v, ok := c.RespHeader(p.header); ok && len(v) > 0 {
		return
	}
	if v, ok := c.Header(p.header); ok && len(v) > 0 {
		c.SetRespHeader(p.header, v)
	}
}

// generator is one loop's id source. Loop-only.
type generator struct {
	rng *rand.ChaCha8
	buf []byte
	raw [32]byte
	// uuidv7 state, as APISIX keeps it per worker.
	v7ms   int64
	v7seq  int
	v7rand [7]byte
}

var genKey = reqctx.NewLocalKey(func() any { return newGenerator() })

func newGenerator() *generator {
	var seed [32]byte
	_, _ = crand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24+)
	return &generator{rng: rand.NewChaCha8(seed)}
}

const hexDigits = "0123456789abcdef"

// next returns a new id in the generator's buffer (valid until the next
// call).
func (g *generator) next(p *requestID, now time.Time) []byte {
	b := g.buf[:0]
	switch p.alg {
	case algUUID:
		r := g.raw[:16]
		_, _ = g.rng.Read(r)
		r[6] = r[6]&0x0f | 0x40
		r[8] = r[8]&0x3f | 0x80
		b = appendUUID(b, r)
	case algUUIDv7:
		b = g.uuidv7(b, now)
	case algNanoID:
		const alphabet = "-_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		r := g.raw[:21]
		_, _ = g.rng.Read(r)
		for _, x := range r {
			b = append(b, alphabet[x&63])
		}
	case algRangeID:
		n := uint64(len(p.charSet))
		for range p.length {
			b = append(b, p.charSet[g.rng.Uint64()%n])
		}
	case algKSUID:
		b = g.ksuid(b, now)
	}
	g.buf = b
	return b
}

func appendUUID(b, r []byte) []byte {
	for i, x := range r {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexDigits[x>>4], hexDigits[x&15])
	}
	return b
}

// uuidv7 is core.utils.generate_uuid_v7: 48 bits of milliseconds, an
// 18-bit sequence within the millisecond (12 bits after the version, 6
// after the variant), then 56 random bits drawn once per millisecond.
func (g *generator) uuidv7(b []byte, now time.Time) []byte {
	ms := now.UnixMilli()
	switch {
	case ms > g.v7ms:
		g.v7reset(ms)
	default:
		ms = g.v7ms
		g.v7seq++
		if g.v7seq > 0x3ffff {
			g.v7reset(ms + 1) // APISIX waits for the next millisecond; we borrow it
			ms = g.v7ms
		}
	}
	var r [16]byte
	binary.BigEndian.PutUint64(r[:8], uint64(ms)<<16)
	seqHi, seqLo := g.v7seq>>6, g.v7seq&0x3f
	binary.BigEndian.PutUint16(r[6:8], uint16(0x7000|seqHi))
	r[8] = byte(0x80 | seqLo)
	copy(r[9:], g.v7rand[:])
	return appendUUID(b, r[:])
}

func (g *generator) v7reset(ms int64) {
	g.v7ms, g.v7seq = ms, 0
	_, _ = g.rng.Read(g.v7rand[:])
}

// ksuidEpoch is KSUID's epoch (resty.ksuid, segmentio/ksuid).
const ksuidEpoch = 1400000000

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ksuid appends a 27-character KSUID: a 20-byte big-endian number (4 bytes
// of seconds since the KSUID epoch, 16 random bytes) in base62, zero-padded.
func (g *generator) ksuid(b []byte, now time.Time) []byte {
	var n [20]byte
	binary.BigEndian.PutUint32(n[:4], uint32(now.Unix()-ksuidEpoch))
	_, _ = g.rng.Read(n[4:])
	// Repeated division of the number, as 5 big-endian uint32 words.
	var words [5]uint32
	for i := range words {
		words[i] = binary.BigEndian.Uint32(n[i*4:])
	}
	var digits [27]byte
	for i := len(digits) - 1; i >= 0; i-- {
		var rem uint64
		for j := range words {
			cur := rem<<32 | uint64(words[j])
			words[j] = uint32(cur / 62)
			rem = cur % 62
		}
		digits[i] = base62[rem]
	}
	return append(b, digits[:]...)
}

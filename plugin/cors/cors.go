package cors

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/sluicegw/sluice/internal/ngxre"
	"github.com/sluicegw/sluice/internal/reqctx"
	"github.com/sluicegw/sluice/plugin"
)

const originsPattern = `^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$`

const schema = `{
  "type": "object",
  "properties": {
    "allow_origins": {"description": "you can use '*' to allow all origins when no credentials,'**' to allow forcefully(it will bring some security risks, be carefully),multiple origin use ',' to split. default: *.",
      "type": "string", "pattern": "` + originsPattern + `", "default": "*"},
    "allow_methods": {"description": "you can use '*' to allow all methods when no credentials,'**' to allow forcefully(it will bring some security risks, be carefully),multiple method use ',' to split. default: *.",
      "type": "string", "default": "*"},
    "allow_headers": {"description": "you can use '*' to allow all header when no credentials,'**' to allow forcefully(it will bring some security risks, be carefully),multiple header use ',' to split. default: *.",
      "type": "string", "default": "*"},
    "expose_headers": {"description": "multiple header use ',' to split.If not specified, no custom headers are exposed.", "type": "string"},
    "max_age": {"description": "maximum number of seconds the results can be cached.-1 means no cached, the max value is depend on browser,more details plz check MDN. default: 5.",
      "type": "integer", "default": 5},
    "allow_credential": {"description": "allow client append credential. according to CORS specification,if you set this option to 'true', you can not use '*' for other options.",
      "type": "boolean", "default": false},
    "allow_origins_by_regex": {"type": "array", "description": "you can use regex to allow specific origins when no credentials,for example use [.*\\.test.com$] to allow a.test.com and b.test.com",
      "items": {"type": "string", "minLength": 1, "maxLength": 4096}, "minItems": 1, "uniqueItems": true},
    "allow_origins_by_metadata": {"type": "array", "description": "set allowed origins by referencing origins in plugin metadata",
      "items": {"type": "string", "minLength": 1, "maxLength": 4096}, "minItems": 1, "uniqueItems": true},
    "timing_allow_origins": {"description": "you can use '*' to allow all origins which can view timing information when no credentials,'**' to allow forcefully (it will bring some security risks, be careful),multiple origin use ',' to split. default: nil",
      "type": "string", "pattern": "` + originsPattern + `"},
    "timing_allow_origins_by_regex": {"type": "array", "description": "you can use regex to allow specific origins which can view timing information,for example use [.*\\.test.com] to allow a.test.com and b.test.com",
      "items": {"type": "string", "minLength": 1, "maxLength": 4096}, "minItems": 1, "uniqueItems": true}
  }
}`

const metadataSchema = `{
  "type": "object",
  "properties": {
    "allow_origins": {"type": "object", "additionalProperties": {"type": "string", "pattern": "` + originsPattern + `"}}
  }
}`

func init() {
	plugin.Register(&plugin.Def{
		Name:           "cors",
		Priority:       4000,
		Version:        "0.1",
		Schema:         schema,
		MetadataSchema: metadataSchema,
		Check:          check,
		New:            newCors,
		NewMetadata:    newMetadata,
	})
}

// errStarWithCredential is APISIX's refusal text.
var errStarWithCredential = errors.New("you can not set '*' for other option when 'allow_credential' is true")

type conf struct {
	AllowOrigins         string   `json:"allow_origins"`
	AllowMethods         string   `json:"allow_methods"`
	AllowHeaders         string   `json:"allow_headers"`
	ExposeHeaders        *string  `json:"expose_headers"`
	MaxAge               int      `json:"max_age"`
	AllowCredential      bool     `json:"allow_credential"`
	OriginsByRegex       []string `json:"allow_origins_by_regex"`
	OriginsByMetadata    []string `json:"allow_origins_by_metadata"`
	TimingOrigins        *string  `json:"timing_allow_origins"`
	TimingOriginsByRegex []string `json:"timing_allow_origins_by_regex"`
}

func check(obj map[string]any, _ bool) error {
	if cred, _ := obj["allow_credential"].(bool); cred {
		for _, k := range []string{"allow_origins", "allow_methods", "allow_headers", "expose_headers", "timing_allow_origins"} {
			if s, _ := obj[k].(string); s == "*" {
				return errStarWithCredential
			}
		}
	}
	for _, k := range []string{"allow_origins_by_regex", "timing_allow_origins_by_regex"} {
		l, _ := obj[k].([]any)
		for _, r := range l {
			s, _ := r.(string)
			if _, err := ngxre.Compile(s, "j"); err != nil {
				return err
			}
		}
	}
	return nil
}

// origins is a compiled allow_origins value.
type origins struct {
	star     bool                // "*"
	echo     bool                // "**": the request's Origin, or "*" without one
	list     map[string]struct{} // "a,b": the request's Origin when listed
	single   []byte              // one origin
	starText []byte
}

var star = []byte("*")

func compileOrigins(s string) *origins {
	o := &origins{starText: star}
	switch {
	case s == "*":
		o.star = true
	case s == "**":
		o.echo = true
	case strings.Contains(s, ","):
		o.list = map[string]struct{}{}
		for _, part := range strings.Split(s, ",") {
			if part != "" {
				o.list[part] = struct{}{}
			}
		}
	default:
		o.single = []byte(s)
	}
	return o
}

// allow is process_with_allow_origins: the value to allow (nil: none).
func (o *origins) allow(origin []byte, has bool) []byte {
	switch {
	case o.star:
		return star
	case o.echo:
		if has {
			return origin
		}
		return star
	case o.list != nil:
		if _, ok := o.list[string(origin)]; has && ok {
			return origin
		}
		return nil
	}
	return o.single
}

// matches is match_origins: the allowed value is the Origin, or "*".
func matches(origin []byte, has bool, allowed []byte) bool {
	if allowed == nil {
		return !has // nil == nil in Lua
	}
	return bytes.Equal(allowed, star) || (has && bytes.Equal(origin, allowed))
}

// metadata is plugin_metadata/cors compiled: named origin sets.
type metadata struct {
	origins map[string]*origins
}

func newMetadata(raw []byte) (any, error) {
	var m struct {
		AllowOrigins map[string]string `json:"allow_origins"`
	}
	if err := plugin.Decode(raw, &m); err != nil {
		return nil, err
	}
	md := &metadata{origins: map[string]*origins{}}
	for k, v := range m.AllowOrigins {
		md.origins[k] = compileOrigins(v)
	}
	return md, nil
}

// cors is a compiled conf. Immutable; shared by every loop.
type cors struct {
	allowOrigins     *origins
	allowOriginsStar bool // conf.allow_origins == "*": no Vary
	byRegex          *ngxre.Regexp
	byMetadata       []string
	methods          []byte
	headersEcho      bool
	headers          []byte
	expose           []byte
	maxAge           []byte
	credential       bool
	timing           *origins
	timingRegex      *ngxre.Regexp
}

var (
	_ plugin.Rewriter       = (*cors)(nil)
	_ plugin.HeaderFilterer = (*cors)(nil)
)

func newCors(_ *plugin.Env, raw []byte) (any, error) {
	var c conf
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, err
	}
	p := &cors{
		allowOrigins:     compileOrigins(c.AllowOrigins),
		allowOriginsStar: c.AllowOrigins == "*",
		byMetadata:       c.OriginsByMetadata,
		methods:          []byte(c.AllowMethods),
		headersEcho:      c.AllowHeaders == "**",
		headers:          []byte(c.AllowHeaders),
		maxAge:           strconv.AppendInt(nil, int64(c.MaxAge), 10),
		credential:       c.AllowCredential,
	}
	if c.AllowMethods == "**" {
		p.methods = []byte("GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE")
	}
	if c.ExposeHeaders != nil && *c.ExposeHeaders != "" {
		p.expose = []byte(*c.ExposeHeaders)
	}
	var err error
	if c.OriginsByRegex != nil {
		if p.byRegex, err = ngxre.Compile(strings.Join(c.OriginsByRegex, "|"), "jo"); err != nil {
			return nil, err
		}
	}
	if c.TimingOriginsByRegex != nil {
		if p.timingRegex, err = ngxre.Compile(strings.Join(c.TimingOriginsByRegex, "|"), "jo"); err != nil {
			return nil, err
		}
	} else if c.TimingOrigins != nil {
		p.timing = compileOrigins(*c.TimingOrigins)
	}
	return p, nil
}

// Rewrite implements plugin.Rewriter: a preflight is answered here.
func (p *cors) Rewrite(c *reqctx.Ctx) reqctx.Result {
	if string(c.Method()) == "OPTIONS" {
		return c.Exit(200, empty)
	}
	return reqctx.Continue
}

var (
	empty         = []byte{}
	originVary    = []byte("Origin")
	trueText      = []byte("true")
	hdrReqHeaders = "Access-Control-Request-Headers"
)

// requestOrigin returns the Origin the client sent (the head's own field,
// whatever later edits did).
func requestOrigin(c *reqctx.Ctx) ([]byte, bool) {
	for i := range c.Req.Headers {
		h := &c.Req.Headers[i]
		if name := h.Name.Of(c.Head); len(name) == 6 && bytes.EqualFold(name, originVary) {
			return h.Value.Of(c.Head), true
		}
	}
	return nil, false
}

// byMetadataOrigin is process_with_allow_origins_by_metadata.
func (p *cors) byMetadataOrigin(c *reqctx.Ctx, origin []byte, has bool) []byte {
	if p.byMetadata == nil || c.Config == nil {
		return nil
	}
	md, _ := c.Config.Metadata("cors").(*metadata)
	if md == nil {
		return nil
	}
	for _, key := range p.byMetadata {
		o := md.origins[key]
		if o == nil {
			continue
		}
		if matches(origin, has, o.allow(origin, has)) {
			if !has {
				return nil
			}
			return origin
		}
	}
	return nil
}

func (p *cors) byRegexOrigin(re *ngxre.Regexp, origin []byte, has bool) []byte {
	if has && re.Match(origin) {
		return origin
	}
	return nil
}

// HeaderFilter implements plugin.HeaderFilterer: cors.lua's header_filter.
func (p *cors) HeaderFilter(c *reqctx.Ctx) {
	origin, has := requestOrigin(c)
	var allowed []byte
	local := false
	if p.byMetadata != nil {
		allowed = p.byMetadataOrigin(c, origin, has)
		if !matches(origin, has, allowed) && !p.allowOriginsStar {
			local = true
		}
	} else {
		local = true
	}
	if local {
		if p.byRegex == nil {
			allowed = p.allowOrigins.allow(origin, has)
		} else {
			allowed = p.byRegexOrigin(p.byRegex, origin, has)
		}
	}
	if !matches(origin, has, allowed) {
		allowed = p.byMetadataOrigin(c, origin, has)
	}
	if !p.allowOriginsStar {
		c.AddRespHeader("Vary", originVary)
	}
	if allowed != nil {
		p.setHeaders(c, allowed)
	}
	var timing []byte
	switch {
	case p.timingRegex != nil:
		timing = p.byRegexOrigin(p.timingRegex, origin, has)
	case p.timing != nil:
		timing = p.timing.allow(origin, has)
	}
	if timing != nil && matches(origin, has, timing) {
		c.SetRespHeader("Timing-Allow-Origin", timing)
	}
}

func (p *cors) setHeaders(c *reqctx.Ctx, allowed []byte) {
	c.SetRespHeader("Access-Control-Allow-Origin", allowed)
	c.SetRespHeader("Access-Control-Allow-Methods", p.methods)
	c.SetRespHeader("Access-Control-Max-Age", p.maxAge)
	if p.expose != nil {
		c.SetRespHeader("Access-Control-Expose-Headers", p.expose)
	}
	if p.headersEcho {
		if v, ok := c.Header(hdrReqHeaders); ok {
			c.SetRespHeader("Access-Control-Allow-Headers", v)
		} else {
			c.DelRespHeader("Access-Control-Allow-Headers")
		}
	} else {
		c.SetRespHeader("Access-Control-Allow-Headers", p.headers)
	}
	if p.credential {
		c.SetRespHeader("Access-Control-Allow-Credentials", trueText)
	}
}

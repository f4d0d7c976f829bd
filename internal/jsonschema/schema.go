package jsonschema

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Schema is a compiled JSON Schema: the draft-4/7 subset APISIX's schemas
// use, validated the way APISIX's validator (api7/jsonschema) does, so that
// an APISIX user reading a sluice error sees the text APISIX would print:
// "property \"uri\" validation failed: string too short, expected at least
// 1, got 0". A general-purpose Go validator would accept and reject the same
// documents but word every failure differently, which is why this one is
// ours.
//
// Validation also fills in defaults, as APISIX's does: an absent property
// whose schema has a "default" is set on the object, so what the Admin API
// stores is what APISIX would store.
//
// Values are what DecodeJSON returns: map[string]any, []any, string,
// float64, bool and nil.
type Schema struct {
	src map[string]any // the schema document, $refs resolved, for serving

	types []string

	props       map[string]*Schema
	propList    []property // props sorted by name, so errors are deterministic
	required    []string
	undeclared  []string // the required names props lacks
	deps        map[string]dependency
	depOrder    []string
	patternProp []patternProperty
	addlSet     bool    // additionalProperties present and not true
	addl        *Schema // nil with addlSet: additional properties forbidden
	minProps    int
	maxProps    int // -1: no limit

	items       *Schema
	minItems    int
	maxItems    int // -1: no limit
	uniqueItems bool

	minLen, maxLen int // maxLen -1: no limit
	pattern        *Pattern
	patternSrc     string

	minimum, maximum, exclMinimum, exclMaximum *float64

	enum     []any
	constVal any
	hasConst bool

	allOf, anyOf, oneOf []*Schema
	not                 *Schema
	ifS, thenS, elseS   *Schema
	format              string

	def    any
	hasDef bool
}

// property is one entry of properties; walking a slice of them is what
// checking an object costs, where a lookup in props per name was a third
// of it (issue 13).
type property struct {
	name     string
	schema   *Schema
	required bool
}

type patternProperty struct {
	src    string
	re     *regexp.Regexp
	schema *Schema
}

type dependency struct {
	props  []string
	schema *Schema
}

// Compile compiles a schema document. "$ref"s of the form
// "#/definitions/<name>" are resolved against defs.
func Compile(doc map[string]any, defs map[string]any) (*Schema, error) {
	resolved, err := resolveRefs(doc, defs, 0)
	if err != nil {
		return nil, err
	}
	return compileNode(resolved.(map[string]any))
}

// MarshalJSON writes the schema document (references resolved), which is
// what the Admin API's /schema endpoints serve.
func (s *Schema) MarshalJSON() ([]byte, error) { return json.Marshal(s.src) }

func resolveRefs(v any, defs map[string]any, depth int) (any, error) {
	if depth > 32 {
		return nil, fmt.Errorf("jsonschema: references nest too deep")
	}
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			name, found := strings.CutPrefix(ref, "#/definitions/")
			def, ok := defs[name]
			if !found || !ok {
				return nil, fmt.Errorf("jsonschema: reference %q not found", ref)
			}
			return resolveRefs(def, defs, depth+1)
		}
		out := make(map[string]any, len(t))
		for k, sub := range t {
			r, err := resolveRefs(sub, defs, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, sub := range t {
			r, err := resolveRefs(sub, defs, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func compileNode(doc map[string]any) (*Schema, error) {
	s := &Schema{src: doc, minProps: 0, maxProps: -1, maxItems: -1, maxLen: -1}
	var err error
	sub := func(v any) (*Schema, error) {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("jsonschema: want an object, got %T", v)
		}
		return compileNode(m)
	}
	subs := func(v any) ([]*Schema, error) {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("jsonschema: want an array, got %T", v)
		}
		out := make([]*Schema, len(list))
		for i, e := range list {
			if out[i], err = sub(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	for key, v := range doc {
		switch key {
		case "type":
			switch t := v.(type) {
			case string:
				s.types = []string{t}
			case []any:
				for _, e := range t {
					s.types = append(s.types, fmt.Sprint(e))
				}
			}
		case "properties":
			m, _ := v.(map[string]any)
			s.props = make(map[string]*Schema, len(m))
			for name, p := range m {
				if s.props[name], err = sub(p); err != nil {
					return nil, err
				}
			}
		case "required":
			for _, e := range v.([]any) {
				s.required = append(s.required, e.(string))
			}
		case "dependencies":
			s.deps = map[string]dependency{}
			for name, d := range v.(map[string]any) {
				var dep dependency
				if list, ok := d.([]any); ok {
					for _, e := range list {
						dep.props = append(dep.props, e.(string))
					}
				} else if dep.schema, err = sub(d); err != nil {
					return nil, err
				}
				s.deps[name] = dep
				s.depOrder = append(s.depOrder, name)
			}
			slices.Sort(s.depOrder)
		case "patternProperties":
			m := v.(map[string]any)
			names := make([]string, 0, len(m))
			for name := range m {
				names = append(names, name)
			}
			slices.Sort(names)
			for _, name := range names {
				re, err := regexp.Compile(name)
				if err != nil {
					return nil, fmt.Errorf("jsonschema: pattern %q: %w", name, err)
				}
				ps, err := sub(m[name])
				if err != nil {
					return nil, err
				}
				s.patternProp = append(s.patternProp, patternProperty{src: name, re: re, schema: ps})
			}
		case "additionalProperties":
			switch t := v.(type) {
			case bool:
				s.addlSet = !t
			default:
				s.addlSet = true
				if s.addl, err = sub(t); err != nil {
					return nil, err
				}
			}
		case "minProperties":
			s.minProps = intOf(v)
		case "maxProperties":
			s.maxProps = intOf(v)
		case "items":
			if s.items, err = sub(v); err != nil {
				return nil, err
			}
		case "minItems":
			s.minItems = intOf(v)
		case "maxItems":
			s.maxItems = intOf(v)
		case "uniqueItems":
			s.uniqueItems, _ = v.(bool)
		case "minLength":
			s.minLen = intOf(v)
		case "maxLength":
			s.maxLen = intOf(v)
		case "pattern":
			s.patternSrc = v.(string)
			if s.pattern, err = CompilePattern(s.patternSrc); err != nil {
				return nil, fmt.Errorf("jsonschema: pattern %q: %w", s.patternSrc, err)
			}
		case "minimum":
			s.minimum = floatPtr(v)
		case "maximum":
			s.maximum = floatPtr(v)
		case "exclusiveMinimum":
			s.exclMinimum = floatPtr(v)
		case "exclusiveMaximum":
			s.exclMaximum = floatPtr(v)
		case "enum":
			s.enum = v.([]any)
		case "const":
			s.constVal, s.hasConst = v, true
		case "allOf":
			if s.allOf, err = subs(v); err != nil {
				return nil, err
			}
		case "anyOf":
			if s.anyOf, err = subs(v); err != nil {
				return nil, err
			}
		case "oneOf":
			if s.oneOf, err = subs(v); err != nil {
				return nil, err
			}
		case "not":
			if s.not, err = sub(v); err != nil {
				return nil, err
			}
		case "if":
			if s.ifS, err = sub(v); err != nil {
				return nil, err
			}
		case "then":
			if s.thenS, err = sub(v); err != nil {
				return nil, err
			}
		case "else":
			if s.elseS, err = sub(v); err != nil {
				return nil, err
			}
		case "format":
			s.format, _ = v.(string)
		case "default":
			s.def, s.hasDef = v, true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.props)) {
		s.propList = append(s.propList, property{name: name, schema: s.props[name], required: slices.Contains(s.required, name)})
	}
	for _, name := range s.required {
		if _, declared := s.props[name]; !declared {
			s.undeclared = append(s.undeclared, name)
		}
	}
	return s, nil
}

func intOf(v any) int {
	f, _ := numberOf(v)
	return int(f)
}

func floatPtr(v any) *float64 {
	f, ok := numberOf(v)
	if !ok {
		return nil
	}
	return &f
}

func numberOf(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

// luaType names a value the way the Lua validator's messages do: every
// object and array is a "table", null is cjson's "userdata".
func luaType(v any) string {
	switch v.(type) {
	case map[string]any, []any:
		return "table"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	}
	return "userdata"
}

func hasType(v any, t string) bool {
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := numberOf(v)
		return ok
	case "integer":
		f, ok := numberOf(v)
		return ok && f == math.Trunc(f) && !math.IsInf(f, 0)
	case "null":
		return v == nil
	}
	return false
}

// luaNumber formats a number as LuaJIT's tostring does (%.14g).
func luaNumber(f float64) string {
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// Validate checks v against s and fills in defaults. The error text is the
// Lua validator's.
func (s *Schema) Validate(v any) error {
	if msg := s.check(v, true); msg != "" {
		return schemaError(msg)
	}
	return nil
}

type schemaError string

func (e schemaError) Error() string { return string(e) }

// failed is check's answer when the caller only needs to know whether v
// is valid (a branch of anyOf, oneOf, not or if): building the message
// would cost more than the check.
const failed = "invalid"

// check returns "" when v is valid, else the failure message (or just
// failed when explain is false).
func (s *Schema) check(v any, explain bool) string {
	if len(s.types) > 0 {
		ok := false
		for _, t := range s.types {
			if hasType(v, t) {
				ok = true
				break
			}
		}
		if !ok {
			if !explain {
				return failed
			}
			if len(s.types) == 1 {
				return "wrong type: expected " + s.types[0] + ", got " + luaType(v)
			}
			return "wrong type: expected one of " + strings.Join(s.types, ", ") + ", got " + luaType(v)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		if msg := s.checkObject(obj, explain); msg != "" {
			return msg
		}
	}
	if arr, ok := v.([]any); ok {
		if msg := s.checkArray(arr, explain); msg != "" {
			return msg
		}
	}
	if str, ok := v.(string); ok {
		if msg := s.checkString(str); msg != "" {
			return msg
		}
	}
	if f, ok := numberOf(v); ok {
		if msg := s.checkNumber(f); msg != "" {
			return msg
		}
	}
	if s.enum != nil {
		found := false
		for _, e := range s.enum {
			if jsonEqual(v, e) {
				found = true
				break
			}
		}
		if !found {
			return "matches none of the enum values"
		}
	}
	for i, sub := range s.allOf {
		if msg := sub.check(v, explain); msg != "" {
			if !explain {
				return failed
			}
			return fmt.Sprintf("allOf %d failed: %s", i+1, msg)
		}
	}
	if s.anyOf != nil {
		matched := false
		var requireds []string
		for _, sub := range s.anyOf {
			if sub.check(v, false) == "" {
				matched = true
				break
			}
		}
		if !matched && !explain {
			return failed
		}
		if !matched {
			for _, sub := range s.anyOf {
				if sub.required != nil {
					b, _ := json.Marshal(sub.required)
					requireds = append(requireds, string(b))
				}
			}
			msg := "object matches none of the required"
			if len(requireds) > 0 {
				msg += ": " + strings.Join(requireds, " or ")
			}
			return msg
		}
	}
	if s.oneOf != nil {
		matched := 0
		for i, sub := range s.oneOf {
			if sub.check(v, false) != "" {
				continue
			}
			if matched != 0 {
				if !explain {
					return failed
				}
				return fmt.Sprintf("value should match only one schema, but matches both schemas %d and %d", matched, i+1)
			}
			matched = i + 1
		}
		if matched == 0 {
			if !explain {
				return failed
			}
			return "value should match only one schema, but matches none"
		}
	}
	if s.ifS != nil {
		if s.ifS.check(v, false) == "" {
			if s.thenS != nil && s.thenS.check(v, false) != "" {
				return "then clause did not match"
			}
		} else if s.elseS != nil && s.elseS.check(v, false) != "" {
			return "else clause did not match"
		}
	}
	if s.not != nil && s.not.check(v, false) == "" {
		return "value wasn't supposed to match schema"
	}
	if str, ok := v.(string); ok {
		switch s.format {
		case "ipv4":
			if a, err := netip.ParseAddr(str); err != nil || !a.Is4() {
				return "expect valid ipv4 address but got: " + str
			}
		case "ipv6":
			if a, err := netip.ParseAddr(str); err != nil || !a.Is6() {
				return "expect valid ipv6 address but got: " + str
			}
		}
	}
	if s.hasConst && !jsonEqual(v, s.constVal) {
		return "failed to check const value"
	}
	return ""
}

func (s *Schema) checkObject(obj map[string]any, explain bool) string {
	for _, p := range s.propList {
		pv, present := obj[p.name]
		if present {
			if msg := p.schema.check(pv, explain); msg != "" {
				if !explain {
					return failed
				}
				return "property " + strconv.Quote(p.name) + " validation failed: " + msg
			}
		} else if p.required {
			if !explain {
				return failed
			}
			return "property " + strconv.Quote(p.name) + " is required"
		} else if p.schema.hasDef {
			obj[p.name] = deepCopyJSON(p.schema.def)
		}
	}
	for _, name := range s.undeclared {
		if _, ok := obj[name]; !ok {
			if !explain {
				return failed
			}
			return "property " + strconv.Quote(name) + " is required"
		}
	}
	for _, name := range s.depOrder {
		if _, ok := obj[name]; !ok {
			continue
		}
		d := s.deps[name]
		for _, p := range d.props {
			if _, ok := obj[p]; !ok {
				if !explain {
					return failed
				}
				return "property " + strconv.Quote(p) + " is required when " + strconv.Quote(name) + " is set"
			}
		}
		if d.schema != nil {
			if msg := d.schema.check(obj, explain); msg != "" {
				if !explain {
					return failed
				}
				return "failed to validate dependent schema for " + strconv.Quote(name) + ": " + msg
			}
		}
	}
	if len(s.patternProp) > 0 || s.addlSet {
		// Map order is random; report the smallest failing key so the
		// message does not change from run to run.
		worst := ""
		found := false
		for k := range obj {
			if s.checkExtraProperty(obj, k, false) != "" && (!found || k < worst) {
				if !explain {
					return failed
				}
				worst, found = k, true
			}
		}
		if found {
			return s.checkExtraProperty(obj, worst, true)
		}
	}
	if len(obj) < s.minProps {
		if !explain {
			return failed
		}
		return fmt.Sprintf("expect object to have at least %d properties", s.minProps)
	}
	if s.maxProps >= 0 && len(obj) > s.maxProps {
		if !explain {
			return failed
		}
		return fmt.Sprintf("expect object to have at most %d properties", s.maxProps)
	}
	return ""
}

// checkExtraProperty applies patternProperties and additionalProperties to
// one key.
func (s *Schema) checkExtraProperty(obj map[string]any, k string, explain bool) string {
	matched := false
	for _, pp := range s.patternProp {
		if !pp.re.MatchString(k) {
			continue
		}
		matched = true
		if msg := pp.schema.check(obj[k], explain); msg != "" {
			if !explain {
				return failed
			}
			return "failed to validate " + k + " (matching " + strconv.Quote(pp.src) + "): " + msg
		}
	}
	if _, declared := s.props[k]; declared || matched || !s.addlSet {
		return ""
	}
	if s.addl == nil {
		if !explain {
			return failed
		}
		return "additional properties forbidden, found " + k
	}
	if msg := s.addl.check(obj[k], explain); msg != "" {
		if !explain {
			return failed
		}
		return "failed to validate additional property " + k + ": " + msg
	}
	return ""
}

func (s *Schema) checkArray(arr []any, explain bool) string {
	if len(arr) < s.minItems {
		return fmt.Sprintf("expect array to have at least %d items", s.minItems)
	}
	if s.maxItems >= 0 && len(arr) > s.maxItems {
		return fmt.Sprintf("expect array to have at most %d items", s.maxItems)
	}
	if s.items != nil {
		for i, item := range arr {
			if msg := s.items.check(item, explain); msg != "" {
				if !explain {
					return failed
				}
				return fmt.Sprintf("failed to validate item %d: %s", i+1, msg)
			}
		}
	}
	if s.uniqueItems {
		for j := 1; j < len(arr); j++ {
			for i := 0; i < j; i++ {
				if jsonEqual(arr[i], arr[j]) {
					return fmt.Sprintf("expected unique items but items %d and %d are equal", i+1, j+1)
				}
			}
		}
	}
	return ""
}

func (s *Schema) checkString(str string) string {
	n := utf8.RuneCountInString(str)
	if n < s.minLen {
		return fmt.Sprintf("string too short, expected at least %d, got %d", s.minLen, n)
	}
	if s.maxLen >= 0 && n > s.maxLen {
		return fmt.Sprintf("string too long, expected at most %d, got %d", s.maxLen, n)
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		return fmt.Sprintf("failed to match pattern %q with %q", s.patternSrc, str)
	}
	return ""
}

func (s *Schema) checkNumber(f float64) string {
	switch {
	case s.minimum != nil && f < *s.minimum:
		return "expected " + luaNumber(f) + " to be at least " + luaNumber(*s.minimum)
	case s.exclMinimum != nil && f <= *s.exclMinimum:
		return "expected " + luaNumber(f) + " to be greater than " + luaNumber(*s.exclMinimum)
	case s.maximum != nil && f > *s.maximum:
		return "expected " + luaNumber(f) + " to be at most " + luaNumber(*s.maximum)
	case s.exclMaximum != nil && f >= *s.exclMaximum:
		return "expected " + luaNumber(f) + " to be smaller than " + luaNumber(*s.exclMaximum)
	}
	return ""
}

// jsonEqual compares decoded JSON values, numbers by value.
func jsonEqual(a, b any) bool {
	fa, aNum := numberOf(a)
	fb, bNum := numberOf(b)
	if aNum || bNum {
		return aNum && bNum && fa == fb
	}
	switch ta := a.(type) {
	case map[string]any:
		tb, ok := b.(map[string]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for k, va := range ta {
			vb, ok := tb[k]
			if !ok || !jsonEqual(va, vb) {
				return false
			}
		}
		return true
	case []any:
		tb, ok := b.([]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for i := range ta {
			if !jsonEqual(ta[i], tb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func deepCopyJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = deepCopyJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyJSON(e)
		}
		return out
	}
	return v
}

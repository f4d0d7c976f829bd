package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicegw/sluice/internal/jsonschema"
)

// ID is an object id as APISIX accepts it: a string matching
// ^[a-zA-Z0-9-_.]+$ (1–64 bytes) or an integer ≥ 1. It is kept as the string
// form; Raw remembers whether it was sent as a number, so it is echoed back
// the way it came.
type ID struct {
	S      string
	Number bool
}

// idPattern is definitions.id's pattern, matched as the schema matches it
// (a byte table, not a regexp: every id of every object loaded is checked).
var idPattern = jsonschema.MustCompilePattern(`^[a-zA-Z0-9-_.]+$`)

func (id ID) String() string { return id.S }

// IsZero reports whether the id is absent.
func (id ID) IsZero() bool { return id.S == "" }

// UnmarshalJSON accepts a string or a positive integer.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if err := ValidateID(s); err != nil {
			return err
		}
		*id = ID{S: s}
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 1 {
		return fmt.Errorf("%w: id %s must be a string or an integer >= 1", ErrInvalid, b)
	}
	*id = ID{S: strconv.FormatInt(n, 10), Number: true}
	return nil
}

// MarshalJSON writes the id back in the form it was received.
func (id ID) MarshalJSON() ([]byte, error) {
	if id.Number {
		return []byte(id.S), nil
	}
	return json.Marshal(id.S)
}

// ValidateID checks a string id against APISIX's id pattern.
func ValidateID(s string) error {
	if len(s) < 1 || len(s) > 64 || !idPattern.MatchString(s) {
		return fmt.Errorf("%w: id %q does not match ^[a-zA-Z0-9-_.]+$ (1-64 chars)", ErrInvalid, s)
	}
	return nil
}

// Seconds is a duration written in config as a number of seconds (floats
// allowed), as APISIX's timeouts are.
type Seconds time.Duration

// UnmarshalJSON reads a JSON number of seconds.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("%w: want a number of seconds, got %s", ErrInvalid, b)
	}
	*s = Seconds(f * float64(time.Second))
	return nil
}

// MarshalJSON writes the duration as seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(s).Seconds(), 'f', -1, 64), nil
}

// Duration returns s as a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// Timeout is APISIX's timeout object: all three fields required, > 0.
type Timeout struct {
	Connect Seconds `json:"connect"`
	Send    Seconds `json:"send"`
	Read    Seconds `json:"read"`
}

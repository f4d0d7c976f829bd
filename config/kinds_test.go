package config

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/datadriven"
)

// TestDecode runs testdata/decode.txt: "decode <kind> [id]" validates the
// input as that kind and prints the stored value (defaults filled in) or the
// error exactly as the Admin API would show it.
func TestDecode(t *testing.T) {
	datadriven.RunTest(t, "testdata/decode.txt", func(t *testing.T, c *Case) string {
		if c.Cmd != "decode" || len(c.Args) < 1 {
			t.Fatalf("%s: want: decode <kind> [id]", c.Pos)
		}
		k := KindByName(c.Args[0])
		if k == nil {
			t.Fatalf("%s: unknown kind %q", c.Pos, c.Args[0])
		}
		id := "1"
		if len(c.Args) > 1 {
			id = c.Args[1]
		}
		_, value, err := k.decodeValue(id, []byte(strings.Join(c.Input, "\n")), nil)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: error %q does not wrap ErrInvalid", c.Pos, err)
			}
			return "error: " + Message(err)
		}
		b, err := json.Marshal(value)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	})
}

func TestBuiltinSchemasCompile(t *testing.T) {
	if builtinErr != nil {
		t.Fatal(builtinErr)
	}
}

// Case is the datadriven case type, named here for brevity.
type Case = datadriven.Case

package datadriven

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite datadriven test files with actual output")

// Case is one test case of a file.
type Case struct {
	Pos     string   // file:line of the command, for failure messages
	Cmd     string   // first word of the command line
	Args    []string // remaining words
	Input   []string // lines between the command and "----"
	Want    string   // expected output, lines joined with '\n'
	line    int      // index of the command line in the file
	wantEnd int      // index of the first line after the expected output
}

// RunTest runs every case of the file at path through f.
func RunTest(t *testing.T, path string, f func(t *testing.T, c *Case) string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	cases, err := parse(path, lines)
	if err != nil {
		t.Fatal(err)
	}
	outs := make([]string, len(cases))
	for i, c := range cases {
		t.Run(strings.Join(append([]string{c.Cmd}, c.Args...), " "), func(t *testing.T) {
			got := strings.TrimRight(f(t, c), "\n")
			outs[i] = got
			if !*rewrite && got != c.Want {
				t.Errorf("%s: %s\ngot:\n%s\nwant:\n%s", c.Pos, c.Cmd, got, c.Want)
			}
		})
	}
	if *rewrite {
		var b strings.Builder
		prev := 0
		for i, c := range cases {
			sep := c.line + 1 + len(c.Input) // index of "----"
			for _, l := range lines[prev : sep+1] {
				b.WriteString(l + "\n")
			}
			if outs[i] != "" {
				b.WriteString(outs[i] + "\n")
			}
			prev = c.wantEnd
		}
		for _, l := range lines[prev:] {
			b.WriteString(l + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func parse(path string, lines []string) ([]*Case, error) {
	var cases []*Case
	for i := 0; i < len(lines); {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			i++
			continue
		}
		fields := strings.Fields(l)
		c := &Case{Pos: path + ":" + strconv.Itoa(i+1), Cmd: fields[0], Args: fields[1:], line: i}
		i++
		for i < len(lines) && lines[i] != "----" {
			c.Input = append(c.Input, lines[i])
			i++
		}
		if i == len(lines) {
			return nil, fmt.Errorf("datadriven: %s: missing ----", c.Pos)
		}
		i++
		var want []string
		for i < len(lines) && strings.TrimSpace(lines[i]) != "" {
			want = append(want, lines[i])
			i++
		}
		c.Want = strings.Join(want, "\n")
		c.wantEnd = i
		cases = append(cases, c)
	}
	return cases, nil
}

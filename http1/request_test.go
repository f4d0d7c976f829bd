package http1

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/datadriven"
)

// unquoteInput joins a case's input lines, each a Go-escaped string.
func unquoteInput(t *testing.T, lines []string) []byte {
	t.Helper()
	var b []byte
	for _, l := range lines {
		s, err := strconv.Unquote(`"` + strings.ReplaceAll(l, `"`, `\"`) + `"`)
		if err != nil {
			t.Fatalf("unquote %q: %v", l, err)
		}
		b = append(b, s...)
	}
	return b
}

// limitsFromArgs reads "maxline=N" style arguments.
func limitsFromArgs(t *testing.T, args []string) Limits {
	var l Limits
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("bad argument %q", a)
		}
		switch k {
		case "maxline":
			l.MaxRequestLine = n
		case "maxhead":
			l.MaxHeadBytes = n
		case "maxheaders":
			l.MaxHeaders = n
		case "maxbody":
			l.MaxBodyBytes = int64(n)
		default:
			t.Fatalf("unknown argument %q", a)
		}
	}
	return l.WithDefaults()
}

func errorLine(err error) string {
	return fmt.Sprintf("error %d %s", StatusOf(err), err)
}

// scanIncrementally feeds buf to a scanner one byte at a time and returns
// what the last call said; it must agree with a single call on all of buf.
func scanIncrementally(buf []byte, lim *Limits, forResponse bool) (start, end int, err error) {
	var s HeadScanner
	for n := 1; n <= len(buf); n++ {
		start, end, err = s.Scan(buf[:n], lim, forResponse)
		if err != nil || end > 0 {
			return
		}
	}
	return
}

func TestRequestDataDriven(t *testing.T) {
	datadriven.RunTest(t, "testdata/request.txt", func(t *testing.T, c *datadriven.Case) string {
		in := unquoteInput(t, c.Input)
		lim := limitsFromArgs(t, c.Args)
		var s HeadScanner
		start, end, err := s.Scan(in, &lim, false)
		is, ie, ierr := scanIncrementally(in, &lim, false)
		if is != start || ie != end || ierr != err {
			t.Errorf("byte-at-a-time scan = %d,%d,%v; one-shot = %d,%d,%v", is, ie, ierr, start, end, err)
		}
		if err != nil {
			return errorLine(err)
		}
		if end == 0 {
			return "incomplete"
		}
		head := in[start:end]
		var r Request
		if err := r.Parse(head, &lim); err != nil {
			return errorLine(err)
		}
		var out strings.Builder
		fmt.Fprintf(&out, "%s %q target=%q path=%q query=%q version=%d\n", r.Method, r.MethodName.Of(head),
			r.Target.Of(head), r.Path.Of(head), r.Query.Of(head), r.Version)
		fmt.Fprintf(&out, "host=%q name=%q port=%q from-target=%v keepalive=%v expect100=%v upgrade=%v\n",
			r.Host.Of(head), r.HostName.Of(head), r.Port.Of(head), r.HostFromTarget, r.KeepAlive, r.Expect100, r.UpgradeRequested)
		for _, h := range r.Headers {
			fmt.Fprintf(&out, "header %q=%q %s line=%q\n", h.Name.Of(head), h.Value.Of(head), h.Kind, h.Line.Of(head))
		}
		fmt.Fprintf(&out, "body=%s", r.Body)
		if r.Body == BodyLength {
			fmt.Fprintf(&out, " length=%d", r.ContentLength)
		}
		out.WriteString("\n")
		rest := in[end:]
		var b Body
		b.Reset(r.Body, r.ContentLength, &lim)
		var wire, data []byte
		for len(rest) > 0 && !b.Done() {
			n, d, err := b.Next(rest)
			if err != nil {
				fmt.Fprintf(&out, "body %s\n", errorLine(err))
				return out.String()
			}
			wire, data = append(wire, rest[:n]...), append(data, d...)
			rest = rest[n:]
		}
		fmt.Fprintf(&out, "wire=%q data=%q done=%v rest=%q", wire, data, b.Done(), rest)
		return out.String()
	})
}

// TestHeadersGrowToTheLimit: a parser's Headers start small; one that is
// reused takes heads up to Limits.MaxHeaders field lines, refuses one more,
// and keeps the grown capacity (no allocation once it has grown).
func TestHeadersGrowToTheLimit(t *testing.T) {
	lim := Limits{}.WithDefaults()
	head := func(first string, fields int) []byte {
		var b strings.Builder
		b.WriteString(first + "\r\n")
		for i := 0; i < fields; i++ {
			fmt.Fprintf(&b, "X-F%d: %d\r\n", i, i)
		}
		b.WriteString("\r\n")
		return []byte(b.String())
	}
	var req Request
	var resp Response
	for _, n := range []int{2, lim.MaxHeaders, 3} {
		// The request also carries Host, so n-1 X- fields make n lines.
		if err := req.Parse(head("GET / HTTP/1.1\r\nHost: a", n-1), &lim); err != nil || len(req.Headers) != n {
			t.Fatalf("request with %d field lines: %v, %d headers", n, err, len(req.Headers))
		}
		if err := resp.Parse(head("HTTP/1.1 200 OK", n), MethodGet, &lim); err != nil || len(resp.Headers) != n {
			t.Fatalf("response with %d field lines: %v, %d headers", n, err, len(resp.Headers))
		}
	}
	if err := req.Parse(head("GET / HTTP/1.1\r\nHost: a", lim.MaxHeaders), &lim); err != ErrHeadTooLarge {
		t.Errorf("request with %d field lines: %v, want ErrHeadTooLarge", lim.MaxHeaders+1, err)
	}
	if err := resp.Parse(head("HTTP/1.1 200 OK", lim.MaxHeaders+1), MethodGet, &lim); err != ErrResponseHeadTooLarge {
		t.Errorf("response with %d field lines: %v, want ErrResponseHeadTooLarge", lim.MaxHeaders+1, err)
	}
	big := head("GET / HTTP/1.1\r\nHost: a", lim.MaxHeaders-1)
	if a := testing.AllocsPerRun(20, func() { _ = req.Parse(big, &lim) }); a != 0 {
		t.Errorf("a grown parser allocates %v times per head", a)
	}
}

package http1

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicegw/sluice/internal/datadriven"
	"github.com/sluicegw/sluice/internal/httpmethod"
)

func TestResponseDataDriven(t *testing.T) {
	datadriven.RunTest(t, "testdata/response.txt", func(t *testing.T, c *datadriven.Case) string {
		in := unquoteInput(t, c.Input)
		method := MethodGet
		var limArgs []string
		for _, a := range c.Args {
			if m, ok := httpmethod.Parse(a); ok {
				method = m
			} else {
				limArgs = append(limArgs, a)
			}
		}
		lim := limitsFromArgs(t, limArgs)
		var s HeadScanner
		start, end, err := s.Scan(in, &lim, true)
		is, ie, ierr := scanIncrementally(in, &lim, true)
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
		var r Response
		if err := r.Parse(head, method, &lim); err != nil {
			return errorLine(err)
		}
		var out strings.Builder
		fmt.Fprintf(&out, "version=%d status=%d line=%q interim=%v keepalive=%v body=%s", r.Version, r.Status,
			r.StatusLine.Of(head), r.Interim(), r.KeepAlive, r.Body)
		if r.HasLength {
			fmt.Fprintf(&out, " length=%d", r.ContentLength)
		}
		if r.Chunked {
			out.WriteString(" declared-chunked")
		}
		out.WriteString("\n")
		for _, h := range r.Headers {
			fmt.Fprintf(&out, "header %q=%q %s\n", h.Name.Of(head), h.Value.Of(head), h.Kind)
		}
		rest := in[end:]
		var b Body
		b.Reset(r.Body, r.ContentLength, &lim)
		var data []byte
		for len(rest) > 0 && !b.Done() {
			n, d, err := b.Next(rest)
			if err != nil {
				fmt.Fprintf(&out, "body %s\n", errorLine(err))
				return out.String()
			}
			data = append(data, d...)
			rest = rest[n:]
		}
		fmt.Fprintf(&out, "data=%q done=%v rest=%q", data, b.Done(), rest)
		return out.String()
	})
}

// nginx answers a bare redirect status with a page too (APISIX's redirect
// plugin returns just the code); other codes below 400 have none.
func TestErrorPageForRedirects(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		if p := string(ErrorPage(code)); !strings.Contains(p, "<title>"+strconv.Itoa(code)+" "+http.StatusText(code)+"</title>") {
			t.Errorf("%d: %q", code, p)
		}
	}
	for _, code := range []int{200, 204, 300, 304} {
		if p := ErrorPage(code); p != nil {
			t.Errorf("%d: %q", code, p)
		}
	}
}

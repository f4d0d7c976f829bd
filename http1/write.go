package http1

import (
	"net/http"
	"strconv"
	"time"
)

// Wire tokens, declared once.
var (
	CRLF               = []byte("\r\n")
	headerSep          = []byte(": ")
	http11Prefix       = []byte("HTTP/1.1 ")
	ContinueResponse   = []byte("HTTP/1.1 100 Continue\r\n\r\n")
	contentLengthName  = "Content-Length"
	contentTypeName    = "Content-Type"
	connectionClose    = []byte("Connection: close\r\n")
	connectionKeep     = []byte("Connection: keep-alive\r\n")
	htmlContentType    = []byte("text/html; charset=utf-8")
	statusLines        [600][]byte
	errorPages         [600][]byte
	errorPageSignature = "sluice"
)

func init() {
	for code := 100; code < 600; code++ {
		text := http.StatusText(code)
		if text == "" {
			continue
		}
		statusLines[code] = []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n")
		if code >= 400 || redirectPage(code) {
			title := strconv.Itoa(code) + " " + text
			errorPages[code] = []byte("<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n" +
				"<center><h1>" + title + "</h1></center>\r\n<hr><center>" + errorPageSignature +
				"</center>\r\n</body>\r\n</html>\r\n")
		}
	}
}

// AppendStatusLine appends "HTTP/1.1 <code> <reason>\r\n". Codes without a
// standard reason get an empty one.
func AppendStatusLine(dst []byte, status int) []byte {
	if status >= 100 && status < 600 && statusLines[status] != nil {
		return append(dst, statusLines[status]...)
	}
	dst = append(dst, http11Prefix...)
	dst = strconv.AppendInt(dst, int64(status), 10)
	return append(dst, " \r\n"...)
}

// AppendHeader appends one field line "name: value\r\n".
func AppendHeader(dst []byte, name string, value []byte) []byte {
	dst = append(dst, name...)
	dst = append(dst, headerSep...)
	dst = append(dst, value...)
	return append(dst, CRLF...)
}

// AppendContentLength appends "Content-Length: n\r\n".
func AppendContentLength(dst []byte, n int64) []byte {
	dst = append(dst, contentLengthName...)
	dst = append(dst, headerSep...)
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, CRLF...)
}

// AppendConnection appends "Connection: close" or "Connection: keep-alive".
func AppendConnection(dst []byte, close bool) []byte {
	if close {
		return append(dst, connectionClose...)
	}
	return append(dst, connectionKeep...)
}

// redirectPage reports whether nginx has a page for a 3xx status it
// answers itself (ngx_http_special_response.c: 301, 302, 303, 307, 308).
func redirectPage(code int) bool {
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308
}

// ErrorPage returns the HTML body the gateway sends with a status it
// generates itself (nginx's layout, which APISIX users see today): error
// statuses and the redirects nginx has pages for (a plugin's bare
// `return 302`, as redirect does); nil for other codes. The slice is shared
// and read-only.
func ErrorPage(status int) []byte {
	if status >= 300 && status < 600 {
		return errorPages[status]
	}
	return nil
}

// Reply describes a response the gateway answers itself.
type Reply struct {
	Status      int
	ContentType []byte // omitted when empty
	Body        []byte
	Close       bool   // add "Connection: close"
	HeadOnly    bool   // answering HEAD: Content-Length of Body, but no body
	Server      []byte // "Server" value, omitted when empty
	Date        []byte // "Date" value (AppendDate's format), omitted when empty
	// Extra holds complete field lines ("Name: value\r\n") to add verbatim.
	Extra []byte
}

// AppendReply appends a complete response: head and body.
func AppendReply(dst []byte, r *Reply) []byte {
	dst = AppendStatusLine(dst, r.Status)
	if len(r.Server) > 0 {
		dst = AppendHeader(dst, "Server", r.Server)
	}
	if len(r.Date) > 0 {
		dst = AppendHeader(dst, "Date", r.Date)
	}
	if len(r.ContentType) > 0 {
		dst = AppendHeader(dst, contentTypeName, r.ContentType)
	}
	dst = AppendContentLength(dst, int64(len(r.Body)))
	if r.Close {
		dst = append(dst, connectionClose...)
	}
	dst = append(dst, r.Extra...)
	dst = append(dst, CRLF...)
	if r.HeadOnly {
		return dst
	}
	return append(dst, r.Body...)
}

// HTMLContentType is the Content-Type of the gateway's error pages.
var HTMLContentType = htmlContentType

// AppendDate appends t in the IMF-fixdate format of the Date header
// (RFC 9110 §5.6.7), e.g. "Tue, 15 Nov 1994 08:12:31 GMT".
func AppendDate(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, http.TimeFormat)
}

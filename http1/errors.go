package http1

import (
	"errors"
	"net/http"
)

// Error is a parse failure and the status a server answers it with. The
// connection must be closed after answering: the bytes that follow cannot be
// framed reliably. Errors are package-level values, compared by identity.
type Error struct {
	Status int    // HTTP status to answer with (400, 413, 414, 431, 501, 505, 502 for responses)
	Reason string // what was wrong, for logs
}

func (e *Error) Error() string { return e.Reason }

// StatusOf returns the status to answer err with: the Error's status, or 400
// for any other error.
func StatusOf(err error) int {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Status
	}
	return http.StatusBadRequest
}

func bad(reason string) *Error { return &Error{Status: http.StatusBadRequest, Reason: reason} }

// Request-line errors.
var (
	// ErrRequestLineTooLong: the request line exceeds Limits.MaxRequestLine (RFC 9112 §3: 414).
	ErrRequestLineTooLong = &Error{http.StatusRequestURITooLong, "http1: request line too long"}
	// ErrBadRequestLine: not "method SP target SP version", or stray whitespace in it.
	ErrBadRequestLine = bad("http1: malformed request line")
	// ErrBadMethod: the method is not a token.
	ErrBadMethod = bad("http1: invalid method")
	// ErrMethodTooLong: the method is longer than any we accept (RFC 9112 §3: 501).
	ErrMethodTooLong = &Error{http.StatusNotImplemented, "http1: method too long"}
	// ErrConnectNotAllowed: CONNECT (authority-form) has no meaning on a reverse proxy.
	ErrConnectNotAllowed = &Error{http.StatusMethodNotAllowed, "http1: CONNECT not allowed"}
	// ErrBadTarget: the request-target has a control byte, or a form the method does not allow.
	ErrBadTarget = bad("http1: invalid request target")
	// ErrBadVersion: the version is not HTTP/DIGIT.DIGIT.
	ErrBadVersion = bad("http1: malformed HTTP version")
	// ErrVersionNotSupported: a well-formed version other than HTTP/1.0 and HTTP/1.1 (505).
	ErrVersionNotSupported = &Error{http.StatusHTTPVersionNotSupported, "http1: HTTP version not supported"}
)

// Header-section errors.
var (
	// ErrHeadTooLarge: the head exceeds Limits.MaxHeadBytes, or has more than
	// Limits.MaxHeaders fields (RFC 6585 §5: 431).
	ErrHeadTooLarge = &Error{http.StatusRequestHeaderFieldsTooLarge, "http1: header section too large"}
	// ErrBareLF: a line ends in LF without CR (RFC 9112 §2.2; accepted by some, so ambiguous).
	ErrBareLF = bad("http1: bare LF line terminator")
	// ErrBareCR: a CR not followed by LF.
	ErrBareCR = bad("http1: bare CR")
	// ErrObsFold: a field line starts with whitespace (obs-fold, RFC 9112 §5.2).
	ErrObsFold = bad("http1: obsolete line folding")
	// ErrBadHeaderName: empty or non-token field name, or whitespace before the colon.
	ErrBadHeaderName = bad("http1: invalid header field name")
	// ErrBadHeaderValue: NUL, CR, LF or another control byte in a field value.
	ErrBadHeaderValue = bad("http1: invalid header field value")
	// ErrMissingHost: an HTTP/1.1 request without Host (RFC 9112 §3.2).
	ErrMissingHost = bad("http1: missing Host header")
	// ErrDuplicateHost: more than one Host field line.
	ErrDuplicateHost = bad("http1: duplicate Host header")
	// ErrBadHost: a Host value that is not uri-host [":" port].
	ErrBadHost = bad("http1: invalid Host header")
	// ErrBadContentLength: not 1*DIGIT, too large, or conflicting values.
	ErrBadContentLength = bad("http1: invalid Content-Length")
	// ErrContentLengthAndChunked: both framings present (RFC 9112 §6.1 allows rejecting).
	ErrContentLengthAndChunked = bad("http1: both Content-Length and Transfer-Encoding")
	// ErrBadTransferEncoding: empty, repeated chunked, chunked not final, or TE on HTTP/1.0.
	ErrBadTransferEncoding = bad("http1: invalid Transfer-Encoding")
	// ErrUnsupportedTransferEncoding: a transfer coding other than chunked (RFC 9112 §6.1: 501).
	ErrUnsupportedTransferEncoding = &Error{http.StatusNotImplemented, "http1: unsupported transfer coding"}
	// ErrConnectionNamesFraming: Connection lists Host, Content-Length or Transfer-Encoding,
	// asking a proxy to strip a field that frames or routes the message.
	ErrConnectionNamesFraming = bad("http1: Connection names a framing or routing field")
	// ErrBodyTooLarge: Content-Length above Limits.MaxBodyBytes (413).
	ErrBodyTooLarge = &Error{http.StatusRequestEntityTooLarge, "http1: request body too large"}
)

// Chunked-framing errors.
var (
	// ErrBadChunkSize: chunk-size is not 1*HEXDIG, or overflows.
	ErrBadChunkSize = bad("http1: invalid chunk size")
	// ErrBadChunkExtension: a control byte in a chunk extension, or one longer than maxChunkExtension.
	ErrBadChunkExtension = bad("http1: invalid chunk extension")
	// ErrBadChunkTerminator: chunk data not followed by CRLF.
	ErrBadChunkTerminator = bad("http1: chunk data not followed by CRLF")
	// ErrBadTrailer: a malformed trailer field, or trailers larger than the head limit.
	ErrBadTrailer = bad("http1: invalid trailer section")
)

// Response errors: the status is what the gateway answers its client with
// when an upstream sends these (RFC 9112 §6.3(5): 502).
var (
	// ErrBadStatusLine: not "HTTP/1.x SP 3DIGIT SP reason".
	ErrBadStatusLine = &Error{http.StatusBadGateway, "http1: malformed upstream status line"}
	// ErrBadResponseHeader: a malformed upstream header field (including obs-fold).
	ErrBadResponseHeader = &Error{http.StatusBadGateway, "http1: malformed upstream header"}
	// ErrBadResponseFraming: conflicting or invalid Content-Length / Transfer-Encoding from upstream.
	ErrBadResponseFraming = &Error{http.StatusBadGateway, "http1: invalid upstream message framing"}
	// ErrResponseHeadTooLarge: the upstream head exceeds Limits.MaxHeadBytes.
	ErrResponseHeadTooLarge = &Error{http.StatusBadGateway, "http1: upstream header section too large"}
)

package http1

// Span locates bytes inside a message head: Off and Len count bytes from the
// head's first byte. The zero Span is empty.
type Span struct {
	Off, Len uint32
}

// Of returns the bytes of s inside head. The slice aliases head: it is valid
// only as long as head's bytes are (for a gnet read buffer, until the
// callback returns or the bytes are discarded).
//
//gcassert:inline
func (s Span) Of(head []byte) []byte { return head[s.Off : s.Off+s.Len] }

// Empty reports whether the span has no bytes.
func (s Span) Empty() bool { return s.Len == 0 }

func spanOf(start, end int) Span { return Span{Off: uint32(start), Len: uint32(end - start)} }

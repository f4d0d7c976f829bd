// Package bytestr holds sluice's one zero-copy []byte-to-string conversion
// (STYLE rule 13, fasthttp's b2s.go), so the unsafe lives in one place.
package bytestr

// Package testcert makes throwaway certificates for tests: ssl objects need
// a real certificate and key to pass the cert/key pairing check, and
// checked-in PEM files would expire or leak into production configs.
// Test code only.
package testcert

package reqctx

import "testing"

func TestAppendReqEditsExcept(t *testing.T) {
	var c Ctx
	c.SetHeader("X-Forwarded-For", []byte("1.1.1.1"))
	c.SetHeader("X-A", []byte("a"))
	c.AddHeader("x-real-ip", []byte("2.2.2.2"))
	if got := string(c.AppendReqEditsExcept(nil, []string{"X-Forwarded-For", "X-Real-IP"})); got != "X-A: a\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := string(c.AppendReqEdits(nil)); got != "X-Forwarded-For: 1.1.1.1\r\nX-A: a\r\nx-real-ip: 2.2.2.2\r\n" {
		t.Fatalf("got %q", got)
	}
}

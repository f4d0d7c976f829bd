package plugin

import "testing"

func TestChainRunsInOrderAndStopsOnStatus(t *testing.T) {
	var got []string
	var c Chain
	c.Add(Access, func(Context) int { got = append(got, "a1"); return 0 })
	c.Add(Access, func(Context) int { got = append(got, "a2"); return 403 })
	c.Add(Access, func(Context) int { got = append(got, "a3"); return 0 })
	if st := c.Run(Access, nil); st != 403 {
		t.Fatalf("status %d, want 403", st)
	}
	if len(got) != 2 || got[0] != "a1" || got[1] != "a2" {
		t.Fatalf("ran %v", got)
	}
	if c.Has(Log) || !c.Has(Access) {
		t.Fatal("Has is wrong")
	}
	var nilChain *Chain
	if nilChain.Run(Rewrite, nil) != 0 || nilChain.Has(Rewrite) {
		t.Fatal("nil chain must run nothing")
	}
}

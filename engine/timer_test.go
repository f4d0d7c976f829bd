package engine

import "testing"

type fakeTimed struct {
	n     timerNode
	fired []int64
	w     *timerWheel
	rearm int64 // re-arm by this many ticks when fired, if > 0
}

func (f *fakeTimed) onTimeout() {
	f.fired = append(f.fired, f.w.now)
	if f.rearm > 0 {
		f.w.arm(&f.n, f.rearm)
	}
}

func newFake(w *timerWheel) *fakeTimed {
	f := &fakeTimed{w: w}
	f.n.owner = f
	return f
}

func TestWheelFiresAtDeadline(t *testing.T) {
	var w timerWheel
	w.init(100)
	a, b, c := newFake(&w), newFake(&w), newFake(&w)
	w.arm(&a.n, 5)
	w.arm(&b.n, 5)
	w.arm(&c.n, wheelSlots*2+3) // more than two revolutions
	w.advance(104)
	if len(a.fired)+len(b.fired) != 0 {
		t.Fatal("fired early")
	}
	w.advance(105)
	if len(a.fired) != 1 || a.fired[0] != 105 || len(b.fired) != 1 {
		t.Fatalf("a %v b %v", a.fired, b.fired)
	}
	w.advance(100 + wheelSlots*2 + 2)
	if len(c.fired) != 0 {
		t.Fatal("long timer fired a revolution early")
	}
	w.advance(100 + wheelSlots*2 + 3)
	if len(c.fired) != 1 {
		t.Fatal("long timer did not fire")
	}
}

func TestWheelCancelAndRearm(t *testing.T) {
	var w timerWheel
	w.init(0)
	a, b, c := newFake(&w), newFake(&w), newFake(&w)
	w.arm(&a.n, 3)
	w.cancel(&a.n)
	w.arm(&b.n, 3)
	w.arm(&b.n, 10) // later: lazy
	w.arm(&c.n, 10)
	w.arm(&c.n, 2) // earlier: re-filed
	w.advance(9)
	if len(a.fired) != 0 {
		t.Fatal("cancelled timer fired")
	}
	if len(b.fired) != 0 {
		t.Fatalf("extended timer fired at %v", b.fired)
	}
	if len(c.fired) != 1 || c.fired[0] != 2 {
		t.Fatalf("shortened timer fired at %v, want [2]", c.fired)
	}
	w.advance(10)
	if len(b.fired) != 1 || b.fired[0] != 10 {
		t.Fatalf("extended timer fired at %v, want [10]", b.fired)
	}
	if a.n.armed() || b.n.armed() || c.n.armed() {
		t.Fatal("fired timers must be disarmed")
	}
}

func TestWheelOwnerMayRearmWhileFiring(t *testing.T) {
	var w timerWheel
	w.init(0)
	f := newFake(&w)
	f.rearm = wheelSlots // lands in the slot being processed
	w.arm(&f.n, 1)
	w.advance(1 + wheelSlots*3)
	want := []int64{1, 1 + wheelSlots, 1 + 2*wheelSlots, 1 + 3*wheelSlots}
	if len(f.fired) != len(want) {
		t.Fatalf("fired %v, want %v", f.fired, want)
	}
	for i := range want {
		if f.fired[i] != want[i] {
			t.Fatalf("fired %v, want %v", f.fired, want)
		}
	}
}

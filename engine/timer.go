package engine

// timerWheel is a hashed timing wheel owned by one event loop. Nodes are
// embedded in connection state (no allocation), arming and cancelling are
// O(1), and a tick visits one slot.
//
// Re-arming is lazy when it only moves a deadline later (the common case:
// a timeout restarted on progress): the node stays in its slot and is
// re-filed when that slot comes due. Moving a deadline earlier re-files at
// once. Deadlines are in ticks of the loop's coarse clock; a timer fires at
// the first tick at or after its deadline, so precision is one tick.
//
// Loop-only: the wheel and its nodes belong to the loop's goroutine.
type timerWheel struct {
	slots [wheelSlots]timerNode // sentinels of circular lists
	now   int64                 // current tick
}

// wheelSlots × the tick interval is the span one revolution covers; longer
// timeouts go round more than once (their deadline, not the slot, decides).
const wheelSlots = 1024

// timerNode is embedded in whatever can time out. fire is called by the
// wheel on the loop when the deadline passes.
type timerNode struct {
	prev, next *timerNode
	deadline   int64 // tick at which to fire
	slotTick   int64 // tick of the slot the node is filed under
	owner      timerOwner
}

// timerOwner is the state a timer belongs to.
type timerOwner interface {
	onTimeout()
}

func (w *timerWheel) init(now int64) {
	w.now = now
	for i := range w.slots {
		s := &w.slots[i]
		s.prev, s.next = s, s
	}
}

// armed reports whether n is filed in the wheel.
func (n *timerNode) armed() bool { return n.next != nil }

// arm schedules n to fire after d ticks (d >= 1 enforced), replacing any
// earlier schedule.
func (w *timerWheel) arm(n *timerNode, d int64) {
	if d < 1 {
		d = 1
	}
	deadline := w.now + d
	if n.armed() && deadline >= n.slotTick {
		n.deadline = deadline // lazy: re-filed when its slot comes due
		return
	}
	w.cancel(n)
	n.deadline = deadline
	w.file(n, deadline)
}

func (w *timerWheel) file(n *timerNode, tick int64) {
	s := &w.slots[tick%wheelSlots]
	n.slotTick = tick
	n.prev, n.next = s.prev, s
	s.prev.next = n
	s.prev = n
}

// cancel removes n if it is armed.
func (w *timerWheel) cancel(n *timerNode) {
	if !n.armed() {
		return
	}
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next = nil, nil
}

// advance moves the wheel to tick now, firing every timer due. A fired
// timer is disarmed before its owner runs, so the owner may re-arm it.
func (w *timerWheel) advance(now int64) {
	for w.now < now {
		w.now++
		s := &w.slots[w.now%wheelSlots]
		// Detach the slot's list first: owners may arm timers into this
		// very slot while we walk.
		first, last := s.next, s.prev
		if first == s {
			continue
		}
		s.prev, s.next = s, s
		first.prev, last.next = nil, nil
		for n := first; n != nil; {
			next := n.next
			n.prev, n.next = nil, nil
			if n.deadline > w.now {
				w.file(n, n.deadline)
			} else {
				n.owner.onTimeout()
			}
			n = next
		}
	}
}

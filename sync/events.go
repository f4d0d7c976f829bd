package sync

// Events reports what a source did. Nil fields are skipped. Callbacks run on
// the source's goroutine and must not block.
type Events struct {
	// Published fires after a new snapshot became current.
	Published func(s *Snapshot)
	// Rejected fires when a new config was refused whole; the previous
	// snapshot keeps serving.
	Rejected func(err error)
	// Problem fires, before Published, for each problem with the config
	// being applied: an object refused (its last good version kept), a
	// route that fails closed or is left out. It is what the source logs.
	Problem func(err error)
}

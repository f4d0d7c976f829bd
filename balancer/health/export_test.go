package health

import "time"

// SetIntervalUnit makes a configured interval of n seconds last n*d, so
// tests probe every few milliseconds (the schema allows whole seconds
// only). Call it before the first Acquire.
func (m *Manager) SetIntervalUnit(d time.Duration) { m.unit = d }

// WaitStopped waits until every stopped group's goroutine has returned.
// Call it only when no Acquire runs concurrently.
func (m *Manager) WaitStopped() { m.wg.Wait() }

// Probe counts an active probe outcome for node i, as a probe would, and
// publishes the result synchronously.
func (c *Checker) Probe(i int, o Outcome) {
	c.g.countActive(c.targets[i], o)
	c.g.publish()
}

// ReportSync is Report followed by a synchronous publish, so a unit test
// reads the new Down set without waiting for the checker's goroutine.
func (c *Checker) ReportSync(i int, o Outcome) {
	c.Report(i, o)
	c.g.publish()
}

// Node returns node i's state and counters.
func (c *Checker) Node(i int) (State, Counters) { return c.targets[i].snapshot() }

// ProbeOK is a tcp probe's success.
const ProbeOK = probeOK

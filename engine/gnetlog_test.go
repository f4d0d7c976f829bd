package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// gnet's routine "stale connection" warning stays out of an info-level log;
// its other warnings do not.
func TestGnetWarningsThatAreRoutineAreDebug(t *testing.T) {
	var out bytes.Buffer
	g := gnetLogger{lg: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	g.Warnf("received event[fd=%d|ev=%d|flags=%d] of a stale connection from event-loop(%d)", 7, 1, 0, 0)
	if out.Len() != 0 {
		t.Fatalf("stale-connection event logged at info level: %s", out.String())
	}
	g.Warnf("failed to close fd=%d", 7)
	if got := out.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "failed to close fd=7") {
		t.Fatalf("other warnings must stay warnings, got %q", got)
	}
}

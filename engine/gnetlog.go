package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// gnetLogger routes gnet's printf-style logging into the injected slog
// logger (gnet's own default is a global zap logger configured by
// environment variables). gnet's info lines (launching loops) are demoted to
// debug: the engine logs its own start line.
type gnetLogger struct{ lg *slog.Logger }

func (g gnetLogger) log(level slog.Level, format string, args []any) {
	if g.lg.Enabled(context.Background(), level) {
		g.lg.Log(context.Background(), level, fmt.Sprintf(format, args...), "component", "gnet")
	}
}

func (g gnetLogger) Debugf(format string, args ...any) { g.log(slog.LevelDebug, format, args) }
func (g gnetLogger) Infof(format string, args ...any)  { g.log(slog.LevelDebug, format, args) }
func (g gnetLogger) Warnf(format string, args ...any) {
	level := slog.LevelWarn
	if strings.Contains(format, "of a stale connection") {
		level = slog.LevelDebug
	}
	g.log(level, format, args)
}
func (g gnetLogger) Errorf(format string, args ...any) { g.log(slog.LevelError, format, args) }

// Fatalf is logged as an error: a library must not exit the process.
func (g gnetLogger) Fatalf(format string, args ...any) { g.log(slog.LevelError, format, args) }

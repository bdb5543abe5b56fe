package temporalserver

import (
	"context"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// logger routes the Temporal server's logs into civicflow's slog handler.
// Only warnings and errors pass: the server is chatty at info level.
type logger struct {
	l *slog.Logger
}

func newLogger(l *slog.Logger) log.Logger {
	return &logger{l: l.With("component", "temporal")}
}

var _ log.Logger = (*logger)(nil)
var _ log.WithLogger = (*logger)(nil)

func (l *logger) log(level slog.Level, msg string, tags []tag.Tag) {
	if !l.l.Enabled(context.Background(), level) {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	l.l.LogAttrs(context.Background(), level, msg, attrs...)
}

func (l *logger) Debug(string, ...tag.Tag)           {}
func (l *logger) Info(string, ...tag.Tag)            {}
func (l *logger) Warn(msg string, tags ...tag.Tag)   { l.log(slog.LevelWarn, msg, tags) }
func (l *logger) Error(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }
func (l *logger) DPanic(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }
func (l *logger) Panic(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags); panic(msg) }
func (l *logger) Fatal(msg string, tags ...tag.Tag)  { l.log(slog.LevelError, msg, tags) }
func (l *logger) With(tags ...tag.Tag) log.Logger {
	args := make([]any, 0, 2*len(tags))
	for _, t := range tags {
		args = append(args, t.Key(), t.Value())
	}
	return &logger{l: l.l.With(args...)}
}

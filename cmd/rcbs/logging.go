package main

import (
	"io"
	"log/slog"
)

// newLogger is the log of a command on stderr (spec §9): text by default,
// one JSON object per line with logFormat=json, for log collectors.
func newLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

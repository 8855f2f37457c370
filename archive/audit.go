package archive

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuditFile is the audit log's default name under MetaDir (spec §12).
const AuditFile = "audit.log"

// AuditEvent is one line of the audit log: who did what to which
// recording, and how it ended. It never holds a path, key or token.
type AuditEvent struct {
	Time        time.Time `json:"time"`
	User        string    `json:"user"`
	Addr        string    `json:"addr"`
	Action      string    `json:"action"` // search, play, download, export, signin, refused, prune, …
	RecordingID string    `json:"recordingId"`
	MediaID     string    `json:"mediaId"`
	Status      int       `json:"status"` // HTTP status, or 0 where there is none
}

// Audit is an append-only JSON-lines file (0600). Each event is one
// write(2) of one line to a file opened O_APPEND, so lines from several
// processes do not interleave. Safe for concurrent use.
type Audit struct {
	mu  sync.Mutex
	f   *os.File
	now func() time.Time
}

// OpenAudit opens (creating) the audit file at path; now stamps events
// whose Time is zero (nil: time.Now).
func OpenAudit(path string, now func() time.Time) (*Audit, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Audit{f: f, now: now}, nil
}

// Log appends ev as one line.
func (a *Audit) Log(ev AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = a.now()
	}
	ev.Time = ev.Time.UTC()
	line, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Close closes the file.
func (a *Audit) Close() error { return a.f.Close() }

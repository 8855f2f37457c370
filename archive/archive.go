// Package archive is the backup as a thing on disk: the recording folders
// under targetDir, the bookkeeping folder .rcbs/ beside them, and what is
// kept there about each recording (the search index, the manifests).
// It knows nothing of the cloud the recordings came from.
package archive

import (
	"context"
	"time"
)

// MetaDir is rcbs's bookkeeping folder under targetDir (index, manifests,
// trash, audit log, markers). Walks of the recording tree skip it.
const MetaDir = ".rcbs"

// HoldFile in a recording folder puts the recording under legal hold: prune
// never deletes it (spec §14). It is rcbs's mark, not archive content.
const HoldFile = ".rcbs-hold"

// File is one file of a recording as written, with the sha256 of its bytes.
type File struct {
	Name   string // base name inside the recording folder
	Size   int64
	SHA256 [32]byte
}

// Recording is one recording that a backup run made complete.
type Recording struct {
	ID    string
	Dir   string    // folder relative to targetDir, slash-separated: 2018/02/12/19/<id>
	Start time.Time // the recording's startTime, UTC
	JSON  []byte    // recording.json as written
	Files []File    // its media files, then recording.json
}

// Adder is one record kept about completed recordings (the index, the
// manifests). Add may be called from several goroutines at once.
type Adder interface {
	Add(ctx context.Context, rec Recording) error
	// Sync makes what Add wrote durable.
	Sync() error
}

// Writer tells the manifests and the index of each completed recording.
// The manifests are part of the archive's proof: their errors are
// returned. The index is a cache that is rebuilt from the tree, so its
// errors only go to IndexFailed and never fail a backup.
type Writer struct {
	Manifests   Adder       // nil: no manifests
	Index       Adder       // nil: no index
	IndexFailed func(error) // nil: index errors are dropped
}

// Add records rec in the manifests, then the index.
func (w *Writer) Add(ctx context.Context, rec Recording) error {
	if w.Manifests != nil {
		if err := w.Manifests.Add(ctx, rec); err != nil {
			return err
		}
	}
	if w.Index != nil {
		w.indexErr(w.Index.Add(ctx, rec))
	}
	return nil
}

// Sync makes the manifests durable (the state file moves only after it)
// and flushes the index.
func (w *Writer) Sync() error {
	if w.Index != nil {
		w.indexErr(w.Index.Sync())
	}
	if w.Manifests != nil {
		return w.Manifests.Sync()
	}
	return nil
}

func (w *Writer) indexErr(err error) {
	if err != nil && w.IndexFailed != nil {
		w.IndexFailed(err)
	}
}

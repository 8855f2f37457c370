package main

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/config"
)

// openCatalog is what a backup run tells of each completed recording: the
// archive's manifests and index under targetDir. close releases them.
// The index is a cache (spec §12): its errors are warnings, never a failed
// backup, and rcbs index rebuilds it later.
func openCatalog(ctx context.Context, cfg *config.Config, log *slog.Logger) (w *archive.Writer, close func(), err error) {
	w = &archive.Writer{IndexFailed: func(err error) {
		log.Warn("the search index could not take a recording; rcbs index rebuilds it", "err", err)
	}}
	idx := &lazyIndex{root: cfg.TargetDir, log: log}
	w.Index = idx
	return w, idx.close, nil
}

// lazyIndex opens the index at the first completed recording: by then the
// run has made targetDir and holds its lock, so nothing is touched before
// the run checks targetDir, and a missing index (a new archive, or one
// made before the index existed) is rebuilt from the tree under the lock.
// That rebuild holds the run's workers once, for as long as it takes.
// Safe for concurrent use.
type lazyIndex struct {
	root   string
	log    *slog.Logger
	once   sync.Once
	idx    atomic.Pointer[archive.Index] // set once opened; Sync may run beside Add
	failed bool                          // written in once, read after it
}

func (l *lazyIndex) Add(ctx context.Context, rec archive.Recording) error {
	var err error
	l.once.Do(func() {
		var idx *archive.Index
		idx, err = openArchiveIndex(ctx, l.root, l.root, l.log)
		l.failed = err != nil
		if idx != nil {
			l.idx.Store(idx)
		}
	})
	switch {
	case err != nil:
		return err // told once; the run goes on without an index
	case l.failed:
		return nil
	}
	return l.idx.Load().Add(ctx, rec)
}

func (l *lazyIndex) Sync() error {
	if idx := l.idx.Load(); idx != nil {
		return idx.Sync()
	}
	return nil
}

func (l *lazyIndex) close() {
	if idx := l.idx.Load(); idx != nil {
		idx.Close()
	}
}

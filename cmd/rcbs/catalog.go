package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/config"
)

// openCatalog is what a backup run tells of each completed recording: the
// archive's manifests and index under targetDir. close releases them.
// The index is a cache (spec §12): when it cannot be opened the run goes
// on without it, with one warning, and rcbs index rebuilds it later.
func openCatalog(ctx context.Context, cfg *config.Config, log *slog.Logger) (w *archive.Writer, close func(), err error) {
	w = &archive.Writer{IndexFailed: func(err error) {
		log.Warn("the search index could not take a recording; rcbs index rebuilds it", "err", err)
	}}
	manifests, err := archive.OpenManifests(cfg.TargetDir, cfg.ManifestKey)
	if err != nil {
		return nil, nil, err
	}
	manifests.ChainBroken = func(problem string) {
		log.Error("the manifests' signature chain was already broken: the new lines stay unsigned", "problem", problem)
	}
	w.Manifests = manifests
	idx := &lazyIndex{open: func() (*archive.Index, error) {
		return openArchiveIndex(ctx, cfg.TargetDir, cfg.TargetDir, log)
	}}
	w.Index = idx
	return w, func() {
		idx.close(w.IndexFailed)
		if err := manifests.Close(); err != nil {
			log.Error("the manifests could not be made durable; rcbs verify reports the files they miss", "err", err)
		}
	}, nil
}

// indexBatch is how many recordings the index takes in one transaction:
// one per recording cost more CPU than the rest of a metadata-only run.
const indexBatch = 256

// lazyIndex opens the index when the first recording completes: by then
// the run holds targetDir's lock, and a run that fails before (a locked or
// read-only targetDir) or that downloads nothing neither creates .rcbs/
// nor warns about the index. An index that cannot be opened is reported
// once, then left out. Rows are added indexBatch at a time, and the rest
// at Sync (the end of each shard) and close. Safe for concurrent use.
type lazyIndex struct {
	open    func() (*archive.Index, error)
	mu      sync.Mutex
	idx     *archive.Index
	done    bool // open was tried
	pending []archive.Recording
}

func (l *lazyIndex) Add(ctx context.Context, rec archive.Recording) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.done = true
		var err error
		if l.idx, err = l.open(); err != nil {
			return err // the open's error, the first time only
		}
	}
	if l.idx == nil {
		return nil
	}
	l.pending = append(l.pending, rec)
	if len(l.pending) < indexBatch {
		return nil
	}
	return l.flush(ctx)
}

// flush adds the pending rows; l.mu is held.
func (l *lazyIndex) flush(ctx context.Context) error {
	batch := l.pending
	l.pending = nil
	if l.idx == nil || len(batch) == 0 {
		return nil
	}
	return l.idx.AddBatch(ctx, batch)
}

func (l *lazyIndex) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flush(context.Background())
}

// close adds what is pending and releases the index; an error is the
// same warning as a failed Add.
func (l *lazyIndex) close(warn func(error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.flush(context.Background()); err != nil {
		warn(err)
	}
	if l.idx != nil {
		l.idx.Close()
	}
}

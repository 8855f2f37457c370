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
		idx.close()
		if err := manifests.Close(); err != nil {
			log.Error("the manifests could not be made durable; rcbs verify reports the files they miss", "err", err)
		}
	}, nil
}

// lazyIndex opens the index when the first recording completes: by then
// the run holds targetDir's lock, and a run that fails before (a locked or
// read-only targetDir) or that downloads nothing neither creates .rcbs/
// nor warns about the index. An index that cannot be opened is reported
// once, then left out. Safe for concurrent use.
type lazyIndex struct {
	open func() (*archive.Index, error)
	mu   sync.Mutex
	idx  *archive.Index
	done bool // open was tried
}

func (l *lazyIndex) get(open bool) (*archive.Index, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || !open {
		return l.idx, nil
	}
	l.done = true
	var err error
	l.idx, err = l.open()
	return l.idx, err
}

func (l *lazyIndex) Add(ctx context.Context, rec archive.Recording) error {
	idx, err := l.get(true)
	if idx == nil {
		return err // the open's error, the first time only
	}
	return idx.Add(ctx, rec)
}

func (l *lazyIndex) Sync() error {
	if idx, _ := l.get(false); idx != nil {
		return idx.Sync()
	}
	return nil
}

func (l *lazyIndex) close() {
	if idx, _ := l.get(false); idx != nil {
		idx.Close()
	}
}

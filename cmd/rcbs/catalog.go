package main

import (
	"context"
	"log/slog"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/config"
)

// openCatalog is what a backup run tells of each completed recording: the
// archive's manifests and index under targetDir. close releases them.
// The index is a cache (spec §12): when it cannot be opened the run goes
// on without it, with a warning, and rcbs index rebuilds it later.
func openCatalog(ctx context.Context, cfg *config.Config, log *slog.Logger) (w *archive.Writer, close func(), err error) {
	w = &archive.Writer{IndexFailed: func(err error) {
		log.Warn("the search index could not take a recording; rcbs index rebuilds it", "err", err)
	}}
	idx, err := openArchiveIndex(ctx, cfg.TargetDir, cfg.TargetDir, log)
	if err != nil {
		log.Warn("the search index cannot be opened; backing up without it (rcbs index rebuilds it)", "err", err)
		return w, func() {}, nil
	}
	w.Index = idx
	return w, func() { idx.Close() }, nil
}

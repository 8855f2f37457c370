package main

import (
	"log/slog"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/config"
)

// openCatalog is what a backup run tells of each completed recording: the
// archive's manifests and index under targetDir. close releases them.
func openCatalog(cfg *config.Config, log *slog.Logger) (w *archive.Writer, close func(), err error) {
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
	return w, func() {
		if err := manifests.Close(); err != nil {
			log.Error("the manifests could not be made durable; rcbs verify reports the files they miss", "err", err)
		}
	}, nil
}

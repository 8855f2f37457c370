package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/rcbs/rcbs/archive"
)

const indexUsage = `Usage: rcbs index -config FILE

Rebuilds the search index <targetDir>/.rcbs/index.db (and those of
serveArchives) from the recording tree: every folder with a recording.json
becomes one row. The tree is the truth and the index a cache, so this is
always safe; readers (a running rcbs serve) see the old rows until the
rebuild commits. A damaged index is moved aside first.

Example:
  rcbs index -config /etc/rcbs/config.properties

Exit codes: 0 rebuilt, 1 an archive could not be indexed, 2 bad configuration.

Flags:
`

func cmdIndex(ctx context.Context, e *env, args []string) error {
	var cf configFlags
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	fs.StringVar(&cf.config, "config", "", "configuration `FILE` (Java .properties; required)")
	if err := parseFlags(e, fs, args, indexUsage); err != nil {
		return err
	}
	if _, err := cf.resolve("index"); err != nil {
		return err
	}
	cfg, err := loadConfig(e, cf.config)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, cfg.LogFormat)
	for _, root := range append([]string{cfg.TargetDir}, cfg.Serve.Archives...) {
		start := time.Now()
		x, _, why, err := archive.OpenIndex(ctx, root)
		if err != nil {
			return fmt.Errorf("index %s: %w", root, err)
		}
		if why != "" && why != "missing" {
			log.Warn("the search index was "+why, "archive", root)
		}
		n, err := x.Rebuild(ctx, skipLogger(log, root))
		x.Close()
		if err != nil {
			return fmt.Errorf("index %s: %w", root, err)
		}
		fmt.Fprintf(e.stdout, "indexed %d recordings of %s in %s\n", n, root, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// skipLogger warns about a recording folder the rebuild had to skip.
func skipLogger(log *slog.Logger, root string) func(dir string, err error) {
	return func(dir string, err error) {
		log.Warn("recording folder skipped by the index", "archive", root, "folder", dir, "err", err)
	}
}

// openArchiveIndex opens one archive's index and rebuilds it when it was
// missing or damaged, saying so once. label names the archive in logs
// (rcbs serve never logs a path).
func openArchiveIndex(ctx context.Context, root, label string, log *slog.Logger) (*archive.Index, error) {
	x, rebuild, why, err := archive.OpenIndex(ctx, root)
	if err != nil {
		return nil, err
	}
	if !rebuild {
		return x, nil
	}
	log.Warn("the search index was "+why+"; rebuilding it from the tree", "archive", label)
	n, err := x.Rebuild(ctx, func(string, error) {})
	if err != nil {
		x.Close()
		return nil, err
	}
	log.Info("search index rebuilt", "archive", label, "recordings", n)
	return x, nil
}

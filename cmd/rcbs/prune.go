package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/backup"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/prune"
)

const pruneUsage = `Usage: rcbs prune -config FILE [-dry-run] [-now TIME]
       rcbs prune -config FILE -hold ID...
       rcbs prune -config FILE -release ID...

Applies the retention policy (spec §14): recordings that started more than
retentionDays ago leave the archive, except those under legal hold and
anything newer than the state file minus overlap (the next run would fetch it
again). pruneMode=trash (default) moves them to .rcbs/trash/<date>/ and
empties trash days older than trashDays; pruneMode=delete deletes at once.
Emptied hour/day folders are removed, the files are listed in the day's
.pruned manifest list (verify does not miss them), and each deletion is a
line in the audit log (serveAuditLog, default .rcbs/audit.log); the search index
forgets them. -hold/-release put recordings under legal hold
(a .rcbs-hold file in the folder) or release them.

One line per recording on stdout, then the summary. Exit 0 done, 1 failed,
2 bad configuration or flags, 3 targetDir locked by another rcbs.

Examples:
  rcbs prune -config /etc/rcbs/config.properties -dry-run
  rcbs prune -config config.properties -hold 01F62DGIBGD8369P7GC362LAES00000G

Flags:
`

func cmdPrune(ctx context.Context, e *env, args []string) error {
	var cf configFlags
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	cf.register(fs)
	dryRun := fs.Bool("dry-run", false, "list what would be pruned; change nothing")
	hold := fs.Bool("hold", false, "put the recordings `ID...` (the arguments) under legal hold")
	release := fs.Bool("release", false, "release the recordings ID... (the arguments) from legal hold")
	ids, err := parsePruneFlags(e, fs, args)
	if err != nil {
		return err
	}
	now, err := cf.resolve("prune")
	if err != nil {
		return err
	}
	switch {
	case *hold && *release:
		return usagef("prune: -hold and -release exclude each other")
	case (*hold || *release) && len(ids) == 0:
		return usagef("prune: -hold and -release need recording IDs as arguments (see rcbs prune -h)")
	case !*hold && !*release && len(ids) > 0:
		return usagef("prune: unexpected argument %q (see rcbs prune -h)", ids[0])
	}
	cfg, err := loadConfig(e, cf.config)
	if err != nil {
		return err
	}
	if *hold || *release {
		return setHolds(ctx, e, cfg, ids, *hold)
	}
	return pruneArchive(ctx, e, cfg, now, *dryRun)
}

// parsePruneFlags parses flags, then returns the IDs after them.
func parsePruneFlags(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var ids []string
	for i, a := range args { // IDs follow -hold/-release; flags may follow them
		if (a == "-hold" || a == "--hold" || a == "-release" || a == "--release") && i+1 < len(args) {
			j := i + 1
			for j < len(args) && len(args[j]) > 0 && args[j][0] != '-' {
				j++
			}
			ids = append(ids, args[i+1:j]...)
			args = append(append([]string{}, args[:i+1]...), args[j:]...)
			break
		}
	}
	return ids, parseFlags(e, fs, args, pruneUsage)
}

func setHolds(ctx context.Context, e *env, cfg *config.Config, ids []string, hold bool) error {
	lock, err := backup.Lock(cfg.TargetDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	audit, err := openAudit(cfg)
	if err != nil {
		return err
	}
	defer audit.Close()
	return prune.SetHold(ctx, cfg.TargetDir, ids, hold, audit, func(line string) { fmt.Fprintln(e.stdout, line) })
}

// pruneArchive is one prune under the targetDir lock (none for a dry run:
// it writes nothing). now zero: the clock.
func pruneArchive(ctx context.Context, e *env, cfg *config.Config, now time.Time, dryRun bool) error {
	if now.IsZero() {
		now = time.Now().UTC()
	}
	opts := prune.Options{Root: cfg.TargetDir, Now: now, RetentionDays: cfg.RetentionDays, Mode: cfg.PruneMode,
		TrashDays: cfg.TrashDays, DryRun: dryRun, Report: func(line string) { fmt.Fprintln(e.stdout, line) }}
	if !dryRun {
		lock, err := backup.Lock(cfg.TargetDir)
		if err != nil {
			return err
		}
		defer lock.Unlock()
		manifests, err := archive.OpenManifests(cfg.TargetDir, cfg.ManifestKey)
		if err != nil {
			return err
		}
		audit, err := openAudit(cfg)
		if err != nil {
			return err
		}
		defer audit.Close()
		idx, closeIndex := openPruneIndex(ctx, e, cfg)
		defer closeIndex()
		if idx != nil {
			opts.Index = idx
		}
		opts.IndexFailed = func(err error) {
			fmt.Fprintf(e.stderr, "rcbs: warning: the search index could not forget pruned recordings (rcbs index rebuilds it): %v\n", err)
		}
		manifests.ChainBroken = func(problem string) { fmt.Fprintln(e.stderr, "rcbs: manifests: "+problem) }
		opts.Manifests, opts.Audit = manifests, audit
	}
	if l, ok, err := backup.ReadState(cfg.TargetDir); err != nil {
		return err
	} else if ok {
		opts.Guard = cfg.Overlap.Before(l)
	}
	if cfg.RetentionDays == 0 {
		fmt.Fprintln(e.stderr, "rcbs: retentionDays is 0 (keep forever): only the trash is emptied")
	}
	sum, err := prune.Run(ctx, opts)
	fmt.Fprintln(e.stdout, sum.Line())
	return err
}

// openAudit opens the archive's audit log: serveAuditLog when set, else
// <targetDir>/.rcbs/audit.log (spec §12), the file serve writes too.
func openAudit(cfg *config.Config) (*archive.Audit, error) {
	path := cfg.Serve.AuditLog
	if path == "" {
		path = filepath.Join(cfg.TargetDir, archive.MetaDir, archive.AuditFile)
	}
	return archive.OpenAudit(path, nil)
}

// openPruneIndex opens the search index when there is one (a prune does
// not create it); nil otherwise. The index is a cache: failing to open it
// is a warning, never a reason not to prune.
func openPruneIndex(ctx context.Context, e *env, cfg *config.Config) (idx *archive.Index, close func()) {
	if _, err := os.Stat(archive.IndexPath(cfg.TargetDir)); err != nil {
		return nil, func() {}
	}
	idx, _, _, err := archive.OpenIndex(ctx, cfg.TargetDir)
	if err != nil {
		fmt.Fprintf(e.stderr, "rcbs: warning: the search index cannot be opened (rcbs index rebuilds it): %v\n", err)
		return nil, func() {}
	}
	return idx, func() { idx.Close() }
}

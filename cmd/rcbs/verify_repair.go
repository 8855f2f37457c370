package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/backup"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/internal/atomicfile"
	"github.com/rcbs/rcbs/verify"
)

// repairDir keeps what -repair moved aside, for whoever investigates.
const repairDir = archive.MetaDir + "/repair"

// repairArchive moves every damaged recording folder aside (a corrupt file
// must not pass the engine's size-based "complete" check), then runs the
// backup engine over each affected day with the same guarantees as a run
// (maxDate/minDate set: a one-off run, the state file untouched).
func repairArchive(ctx context.Context, e *env, cfg *config.Config, f *verifyFlags, log *slog.Logger, res verify.Result, gaps []verify.Gap) error {
	if err := moveAside(e, cfg.TargetDir, res.Damaged); err != nil {
		return err
	}
	var days []string
	for _, d := range res.Damaged {
		switch {
		case d.Day != "":
			days = append(days, d.Day)
		case !d.Start.IsZero():
			days = append(days, archive.Day(d.Start))
		default:
			fmt.Fprintf(e.stderr, "rcbs: repair: recording %s: its day is unknown (no readable recording.json, no manifest line); run a backup over its period\n", d.ID)
		}
	}
	for _, g := range gaps {
		if !g.Start.IsZero() {
			days = append(days, archive.Day(g.Start))
		}
	}
	slices.Sort(days)
	for _, span := range daySpans(slices.Compact(days)) {
		if err := repairRun(ctx, e, cfg, f, log, span[0], span[1]); err != nil {
			return err
		}
	}
	return nil
}

// moveAside moves each damaged recording's folder to .rcbs/repair/<time>/,
// under the lock, so that no run sees half of it.
func moveAside(e *env, root string, damaged []verify.Damaged) error {
	lock, err := backup.Lock(root)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	aside := repairDir + "/" + time.Now().UTC().Format("20060102T150405Z")
	for _, d := range damaged {
		if d.Gone {
			continue
		}
		to := filepath.Join(root, filepath.FromSlash(aside+"/"+d.Dir))
		if err := os.MkdirAll(filepath.Dir(to), atomicfile.DirPerm); err != nil {
			return fmt.Errorf("repair: %w", err)
		}
		if err := os.Rename(filepath.Join(root, filepath.FromSlash(d.Dir)), to); err != nil {
			return fmt.Errorf("repair: move %s aside: %w", d.Dir, err)
		}
		fmt.Fprintf(e.stdout, "repair: moved %s aside to %s/%s\n", d.Dir, aside, d.Dir)
	}
	return nil
}

// daySpans groups sorted days into runs of consecutive days [first, last].
func daySpans(days []string) [][2]time.Time {
	var spans [][2]time.Time
	for _, d := range days {
		t, err := time.Parse(archive.DayLayout, d)
		if err != nil {
			continue
		}
		if n := len(spans); n > 0 && spans[n-1][1].Equal(t) {
			spans[n-1][1] = t.Add(24 * time.Hour)
			continue
		}
		spans = append(spans, [2]time.Time{t, t.Add(24 * time.Hour)})
	}
	return spans
}

// repairRun is one backup run over [start, end) into the same archive.
func repairRun(ctx context.Context, e *env, cfg *config.Config, f *verifyFlags, log *slog.Logger, start, end time.Time) error {
	c := *cfg
	c.MaxDate, c.MinDate, c.MetricsFile = &start, &end, ""
	lister, err := newLister(&c, log)
	if err != nil {
		return err
	}
	catalog, closeCatalog, err := openCatalog(ctx, &c, log)
	if err != nil {
		return err
	}
	defer closeCatalog()
	sum, err := backup.Run(ctx, &c, backup.Deps{Lister: lister, Catalog: catalog, Logger: log, At: f.now})
	fmt.Fprintln(e.stdout, "repair: "+sum.Line())
	if errors.Is(err, backup.ErrRecordingsFailed) {
		fmt.Fprintf(e.stderr, "rcbs: repair: %v\n", err)
		return nil // verify again says what is still wrong
	}
	return err
}

// adopt lists every file of a complete recording that no manifest lists
// in its day's manifest, as it stands, and signs the whole chain as it
// stands (manifestKey): the way to start signing an archive, or to accept
// it after verify's report was looked at.
func adopt(ctx context.Context, e *env, cfg *config.Config, f *verifyFlags) error {
	lock, err := backup.Lock(cfg.TargetDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	res, err := verify.Run(ctx, verify.Options{Root: cfg.TargetDir, From: f.fromTime, To: f.toTime, Adoptable: true})
	if err != nil {
		return err
	}
	m, err := archive.OpenManifests(cfg.TargetDir, cfg.ManifestKey)
	if err != nil {
		return err
	}
	days := map[string]bool{}
	for _, u := range res.Unadopted {
		sum, err := sha256File(filepath.Join(cfg.TargetDir, filepath.FromSlash(u.Path)))
		if err != nil {
			return fmt.Errorf("adopt %s: %w", u.Path, err)
		}
		if err := m.Append(u.Day, archive.ManifestExt, fmt.Sprintf("%x  %s\n", sum, u.Path)); err != nil {
			return err
		}
		days[u.Day] = true
	}
	if err := m.SignAll(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "adopted: %d files into the manifests of %d days\n", len(res.Unadopted), len(days))
	if cfg.ManifestKey == nil && len(days) > 0 {
		fmt.Fprintln(e.stderr, "rcbs: adopted manifests are not signed: set manifestKey to sign them")
	}
	return nil
}

func sha256File(path string) (sum [32]byte, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return sum, err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return sum, err
	}
	h.Sum(sum[:0])
	return sum, nil
}

// Package prune applies the retention policy (spec §14): recordings whose
// start is older than retentionDays go to the trash (or are deleted), except
// those under legal hold and anything the next backup run would download
// again; the trash is emptied after trashDays.
//
// Crash safety: a recording leaves its place by one rename of its folder
// (into the trash, or into a .deleting-… folder that is then removed), so a
// prune killed at any point leaves every recording whole in place, whole in
// the trash, or gone (a .deleting-… leftover is hidden in .rcbs/ and removed
// by the next prune). Before a folder moves, its files are listed in the
// day's .pruned list and the audit line is written: an interruption can
// leave a line about a recording still in place, which the next prune acts
// on and records again, never a deletion without its line.
package prune

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// TrashDir holds pruned recordings by the day they were pruned:
// <TrashDir>/<yyyy-MM-dd>/<folder as it was>.
const TrashDir = archive.MetaDir + "/trash"

// deletingPrefix names a folder on its way out; whatever a killed prune
// left under it is removed by the next.
const deletingPrefix = ".deleting-"

// Index is the search index, which must forget pruned recordings.
type Index interface {
	Remove(ctx context.Context, ids ...string) error
}

// Audit records each deletion (and each hold or release) as one line;
// *archive.Audit is one. Actions: "prune" (moved to the trash), "delete"
// (pruneMode=delete), "empty-trash", "hold", "release"; user "rcbs-prune".
type Audit interface {
	Log(ev archive.AuditEvent) error
}

// auditUser is who the audit lines name: the retention policy, not a person.
const auditUser = "rcbs-prune"

// Manifests takes the .pruned lists; *archive.Manifests is one.
type Manifests interface {
	Append(day, ext, text string) error
	Flush() error
	Sync() error
}

// Options is one prune. Root and Now are required.
type Options struct {
	Root          string
	Now           time.Time
	RetentionDays int       // 0: keep forever (only the trash is emptied)
	Guard         time.Time // nothing starting at or after it is pruned (state − overlap); zero: none
	Mode          string    // "trash" (default) or "delete"
	TrashDays     int
	DryRun        bool
	Manifests     Manifests // nil: no .pruned lists
	Index         Index     // nil: none
	Audit         Audit     // nil: none
	IndexFailed   func(error)
	// Report receives one line per recording acted on (or, in a dry run,
	// that would be).
	Report func(line string)
}

// Summary is what a prune did.
type Summary struct {
	Pruned, Held, TrashEmptied int
	Cutoff                     time.Time
	DryRun                     bool
	Duration                   time.Duration
}

// Line is the summary line.
func (s Summary) Line() string {
	verb := "pruned"
	if s.DryRun {
		verb = "would prune"
	}
	return fmt.Sprintf("%s: recordings %d (started before %s), held %d, trash days emptied %d, %s",
		verb, s.Pruned, s.Cutoff.UTC().Format(time.RFC3339), s.Held, s.TrashEmptied, s.Duration.Round(time.Millisecond))
}

// batchSize recordings share one flush of the .pruned lists and one index
// call.
const batchSize = 256

// Run prunes the archive at opts.Root.
func Run(ctx context.Context, opts Options) (Summary, error) {
	p := &pruner{opts: opts, made: map[string]bool{}, manifestDays: map[string]bool{}}
	if p.opts.Report == nil {
		p.opts.Report = func(string) {}
	}
	p.sum.DryRun = opts.DryRun
	started := time.Now()
	if !opts.DryRun {
		if err := p.removeLeftovers(); err != nil {
			return p.sum, err
		}
	}
	err := p.pruneExpired(ctx)
	if p.deleting != "" { // its recordings are removed one by one; the folder stays until now
		err = errors.Join(err, os.RemoveAll(p.path(p.deleting)))
	}
	if err == nil {
		err = p.emptyTrash(ctx)
	}
	if opts.Manifests != nil && !opts.DryRun {
		err = errors.Join(err, opts.Manifests.Sync())
	}
	p.sum.Duration = time.Since(started)
	return p.sum, err
}

type pruner struct {
	opts         Options
	sum          Summary
	batch        []expired
	made         map[string]bool // trash folders created
	manifestDays map[string]bool // days whose manifest exists
	deleting     string          // this run's .deleting- folder (delete mode)
	seq          int
}

// expired is a recording due to go.
type expired struct {
	id, dir, day string
	files        []string
}

func (p *pruner) path(rel string) string {
	return filepath.Join(p.opts.Root, filepath.FromSlash(rel))
}

// cutoff is the start before which recordings go: now − retentionDays,
// and never after the guard.
func (p *pruner) cutoff() time.Time {
	c := p.opts.Now.AddDate(0, 0, -p.opts.RetentionDays)
	if !p.opts.Guard.IsZero() && p.opts.Guard.Before(c) {
		c = p.opts.Guard
	}
	return c
}

func (p *pruner) pruneExpired(ctx context.Context) error {
	if p.opts.RetentionDays <= 0 {
		return nil
	}
	cutoff := p.cutoff()
	p.sum.Cutoff = cutoff
	err := archive.Walk(ctx, p.opts.Root, func(f archive.Folder) error {
		if !f.Complete() {
			return nil // an unfinished download: the next run completes it
		}
		info, err := archive.ReadInfo(p.path(f.Rel))
		if err != nil {
			p.opts.Report(fmt.Sprintf("skipped: %s: %v", f.Rel, err))
			return nil
		}
		if !info.Start.Before(cutoff) {
			return nil
		}
		if hasFile(f, archive.HoldFile) {
			p.sum.Held++
			p.opts.Report(fmt.Sprintf("held: recording %s (%s) is under legal hold", info.ID, f.Rel))
			return nil
		}
		e := expired{id: info.ID, dir: f.Rel, day: archive.Day(info.Start)}
		for _, file := range f.Files {
			e.files = append(e.files, file.Name())
		}
		p.batch = append(p.batch, e)
		if len(p.batch) >= batchSize {
			return p.flush(ctx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return p.flush(ctx)
}

func hasFile(f archive.Folder, name string) bool {
	for _, e := range f.Files {
		if e.Name() == name {
			return true
		}
	}
	return false
}

// flush acts on a batch: .pruned lines (durable), then for each recording
// its audit line and the move, then the index.
func (p *pruner) flush(ctx context.Context) error {
	batch := p.batch
	p.batch = p.batch[:0]
	if len(batch) == 0 {
		return nil
	}
	if p.opts.DryRun {
		for _, e := range batch {
			p.sum.Pruned++
			p.opts.Report(fmt.Sprintf("would prune: recording %s (%s)", e.id, e.dir))
		}
		return nil
	}
	if err := p.listPruned(batch); err != nil {
		return err
	}
	ids := make([]string, 0, len(batch))
	for _, e := range batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.remove(ctx, e); err != nil {
			return err
		}
		ids = append(ids, e.id)
	}
	if p.opts.Index != nil {
		if err := p.opts.Index.Remove(ctx, ids...); err != nil && p.opts.IndexFailed != nil {
			p.opts.IndexFailed(err)
		}
	}
	return nil
}

// listPruned appends the batch's files to their day's .pruned list (days
// that have a manifest) and makes the lists durable.
func (p *pruner) listPruned(batch []expired) error {
	if p.opts.Manifests == nil {
		return nil
	}
	texts := map[string]*strings.Builder{}
	for _, e := range batch {
		if !p.hasManifest(e.day) {
			continue
		}
		b := texts[e.day]
		if b == nil {
			b = &strings.Builder{}
			texts[e.day] = b
		}
		for _, f := range e.files {
			if f != archive.HoldFile {
				b.WriteString(e.dir + "/" + f + "\n")
			}
		}
	}
	for day, b := range texts {
		if err := p.opts.Manifests.Append(day, archive.PrunedExt, b.String()); err != nil {
			return err
		}
	}
	return p.opts.Manifests.Flush()
}

func (p *pruner) hasManifest(day string) bool {
	has, ok := p.manifestDays[day]
	if !ok {
		_, err := os.Stat(p.path(archive.ManifestDir + "/" + day + archive.ManifestExt))
		has = err == nil
		p.manifestDays[day] = has
	}
	return has
}

// remove moves one recording folder out of the tree by one rename: into
// the trash, or (delete mode) into this run's .deleting- folder, which is
// then removed.
func (p *pruner) remove(ctx context.Context, e expired) error {
	status, action := "trash", "prune"
	to := TrashDir + "/" + archive.Day(p.opts.Now) + "/" + e.dir
	if p.opts.Mode == "delete" {
		status, action = "deleted", "delete"
		if p.deleting == "" {
			p.deleting = fmt.Sprintf("%s/%s%d-%d", TrashDir, deletingPrefix, os.Getpid(), p.opts.Now.UnixNano())
		}
		p.seq++
		to = fmt.Sprintf("%s/%d-%s", p.deleting, p.seq, e.id)
	}
	if err := p.record(action, e.id); err != nil {
		return err
	}
	if err := p.mkdirAll(filepath.Dir(p.path(to))); err != nil {
		return err
	}
	if err := os.Rename(p.path(e.dir), p.path(to)); err != nil {
		return fmt.Errorf("prune: move %s: %w", e.dir, err)
	}
	if status == "deleted" {
		if err := os.RemoveAll(p.path(to)); err != nil {
			return fmt.Errorf("prune: delete %s: %w", e.dir, err)
		}
	}
	p.removeEmptied(e.dir)
	p.sum.Pruned++
	p.opts.Report(fmt.Sprintf("pruned: recording %s (%s) -> %s", e.id, e.dir, map[string]string{"trash": to, "deleted": "deleted"}[status]))
	return nil
}

func (p *pruner) record(action, id string) error {
	if p.opts.Audit == nil {
		return nil
	}
	if err := p.opts.Audit.Log(archive.AuditEvent{User: auditUser, Action: action, RecordingID: id}); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	return nil
}

func (p *pruner) mkdirAll(dir string) error {
	if p.made[dir] {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	p.made[dir] = true
	return nil
}

// removeEmptied removes the folders above a moved recording that it left
// empty (hour, day, month, year), stopping at the first that is not.
func (p *pruner) removeEmptied(rel string) {
	for dir := filepath.Dir(filepath.FromSlash(rel)); dir != "." && dir != string(filepath.Separator); dir = filepath.Dir(dir) {
		if os.Remove(filepath.Join(p.opts.Root, dir)) != nil {
			return
		}
	}
}

// removeLeftovers removes what a killed prune left on its way out.
func (p *pruner) removeLeftovers() error {
	entries, err := os.ReadDir(p.path(TrashDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), deletingPrefix) {
			if err := os.RemoveAll(p.path(TrashDir + "/" + e.Name())); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
		}
	}
	return nil
}

// emptyTrash removes the trash days older than trashDays: each day is
// renamed to a .deleting- name first (gone at once), then removed; every
// recording in it gets its audit line before.
func (p *pruner) emptyTrash(ctx context.Context) error {
	entries, err := os.ReadDir(p.path(TrashDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	before := archive.Day(p.opts.Now.AddDate(0, 0, -p.opts.TrashDays))
	for _, e := range entries {
		day := e.Name()
		if _, err := time.Parse(archive.DayLayout, day); err != nil || !e.IsDir() || day >= before {
			continue
		}
		if err := p.emptyTrashDay(ctx, day); err != nil {
			return err
		}
	}
	return nil
}

func (p *pruner) emptyTrashDay(ctx context.Context, day string) error {
	dir := TrashDir + "/" + day
	err := archive.Walk(ctx, p.path(dir), func(f archive.Folder) error {
		if !f.Complete() {
			return nil
		}
		_, id := filepath.Split(filepath.FromSlash(f.Rel))
		if p.opts.DryRun {
			p.opts.Report(fmt.Sprintf("would delete from the trash: recording %s (pruned %s)", id, day))
			return nil
		}
		return p.record("empty-trash", id)
	})
	if err != nil {
		return fmt.Errorf("prune: trash %s: %w", day, err)
	}
	p.sum.TrashEmptied++
	if p.opts.DryRun {
		return nil
	}
	gone := fmt.Sprintf("%s/%s%s-%d", TrashDir, deletingPrefix, day, p.opts.Now.UnixNano())
	if err := os.Rename(p.path(dir), p.path(gone)); err != nil {
		return fmt.Errorf("prune: empty the trash of %s: %w", day, err)
	}
	if err := os.RemoveAll(p.path(gone)); err != nil {
		return fmt.Errorf("prune: empty the trash of %s: %w", day, err)
	}
	p.opts.Report(fmt.Sprintf("emptied: trash of %s (older than %d days)", day, p.opts.TrashDays))
	return nil
}

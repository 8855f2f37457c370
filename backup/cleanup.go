package backup

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/internal/atomicfile"
)

// RunMarkerName is the file in <targetDir>/.rcbs/ that says a run is under
// way. A run creates it at start and removes it at its end, whatever the
// result (its writers remove their own temporary files on every error and
// on an interrupt). A crash, a kill -9 or a power cut leaves it: the next
// run then knows that temporary files may lie anywhere in the tree.
const RunMarkerName = "run-unfinished"

// startSweep removes the leftover temporary files this run could meet and
// marks the run as under way. The whole tree is walked only when the last
// run did not end cleanly (the marker is there) or when no run of this
// version has used targetDir (no .rcbs/ folder: an older rcbs may have
// crashed); that walk costs about a second per 100,000 folders. Otherwise
// only targetDir's own entries are looked at (the state file's folder);
// each recording folder is swept when a download is about to write into
// it (sweepFolder), so a cron run costs what its window costs, not what
// the archive holds.
func (e *engine) startSweep() {
	meta := filepath.Join(e.root, archive.MetaDir)
	marker := filepath.Join(meta, RunMarkerName)
	_, merr := os.Lstat(marker)
	_, derr := os.Lstat(meta)
	var (
		n   int
		err error
	)
	crashed := !errors.Is(merr, fs.ErrNotExist)
	if crashed {
		e.log.Info("the last run did not end cleanly: removing leftover temporary files in the whole targetDir")
	}
	if crashed || errors.Is(derr, fs.ErrNotExist) {
		n, err = removeTemps(e.root)
	} else {
		n, err = removeTempsIn(e.root)
	}
	e.noteSwept(n, err)
	line := fmt.Sprintf("pid %d\n", os.Getpid())
	if err := atomicfile.WriteFile(marker, []byte(line), filePerm); err != nil {
		e.log.Warn("cannot mark the run as under way; a crash would leave temporary files that only a later crash's sweep removes", "err", err)
	}
}

// endSweep removes the marker: every temporary file of this run is gone.
func (e *engine) endSweep() {
	marker := filepath.Join(e.root, archive.MetaDir, RunMarkerName)
	if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.log.Warn("cannot remove the run marker; the next run walks the whole targetDir", "err", err)
	}
}

// sweepFolder removes leftover temporary files in one recording folder
// before a download writes into it. A missing folder is fine.
func (e *engine) sweepFolder(dir string) {
	e.noteSwept(removeTempsIn(dir))
}

func (e *engine) noteSwept(n int, err error) {
	if n > 0 {
		e.log.Info("removed leftover temporary files", "count", n)
	}
	if err != nil {
		e.log.Warn("could not remove every leftover temporary file", "err", err)
	}
}

// removeTempsIn removes the leftover temporary files directly in dir, not
// below it.
func removeTempsIn(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fileErr(dir, "read", err)
	}
	removed := 0
	var first error
	for _, d := range entries {
		if !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), TempPrefix) {
			continue
		}
		path := filepath.Join(dir, d.Name())
		if err := os.Remove(path); err != nil {
			first = cmp.Or(first, fileErr(path, "remove leftover", err))
			continue
		}
		removed++
	}
	return removed, first
}

// removeTemps deletes leftover temporary files (a crash, a kill -9) under
// root. It walks the whole tree: cost is one readdir per folder, about a
// second per 100,000 folders on a local disk, so it runs only after a run
// that did not end cleanly (startSweep). The lock makes this run the only
// backup writing here, so every leftover is a crash's (spec §6); an "rcbs
// decrypt" writing in place at this very moment would see its file fail
// and can be run again. It returns how many it removed and the first error
// met; a folder it cannot read is skipped, not fatal.
func removeTemps(root string) (int, error) {
	removed := 0
	var first error
	note := func(err error) {
		if first == nil {
			first = err
		}
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			note(fileErr(path, "read", err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), TempPrefix) {
			return nil
		}
		if err := os.Remove(path); err != nil {
			note(fileErr(path, "remove leftover", err))
			return nil
		}
		removed++
		return nil
	})
	if err != nil {
		note(err)
	}
	return removed, first
}

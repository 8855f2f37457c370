package backup

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// removeTemps deletes leftover temporary files (a crash, a kill -9) under
// root. It walks the whole tree: cost is one readdir per folder, about a
// second per 100,000 folders on a local disk, paid once per run. Files
// modified within grace of now are kept: they may belong to an rcbs
// decrypt writing in place right now. It returns how many it removed and
// the first error met; a folder it cannot read is skipped, not fatal.
func removeTemps(root string, now time.Time, grace time.Duration) (int, error) {
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
		info, err := d.Info()
		if err != nil || now.Sub(info.ModTime()) < grace {
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

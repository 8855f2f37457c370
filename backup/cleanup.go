package backup

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// removeTemps deletes leftover temporary files (a crash, a kill -9) under
// root. It walks the whole tree: cost is one readdir per folder, about a
// second per 100,000 folders on a local disk, paid once per run. The lock
// makes this run the only backup writing here, so every leftover is a
// crash's (spec §6); an "rcbs decrypt" writing in place at this very
// moment would see its file fail and can be run again. It returns how many
// it removed and the first error met; a folder it cannot read is skipped,
// not fatal.
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

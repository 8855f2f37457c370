package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CommitNoReplace is Commit that never replaces: when final already exists
// (or appears while the file was written) the commit fails with an error
// wrapping fs.ErrExist, final is left as it is and the temporary file is
// removed. The check and the rename are one step (renameNoReplace), so an
// output created between a caller's own check and the commit survives.
func (f *File) CommitNoReplace(size int64) error {
	if err := f.closeChecked(size); err != nil {
		return err
	}
	if err := renameNoReplace(f.Name(), f.final); err != nil {
		f.Abort()
		return pathErr("rename into", f.final, err)
	}
	f.done = true
	if f.batch != nil {
		return nil
	}
	return SyncDir(filepath.Dir(f.final))
}

// closeChecked checks the size (when size >= 0), syncs (through the File's
// sync step, or the Batch's group commit; a file system without fsync is
// not an error) and closes: what Commit and CommitNoReplace do before their
// renames.
func (f *File) closeChecked(size int64) error {
	if size >= 0 {
		st, err := f.Stat()
		if err != nil {
			return pathErr("stat", f.final, err)
		}
		if st.Size() != size {
			return fmt.Errorf("write %s: %d bytes written, want %d", f.final, st.Size(), size)
		}
	}
	sync := f.sync
	if f.batch != nil && f.batch.group != nil {
		sync = func(file *os.File) error { return f.batch.group.sync(file, f.seq) }
	}
	if err := sync(f.File); err != nil && !syncUnsupported(err) {
		return pathErr("sync", f.final, err)
	}
	if err := f.Close(); err != nil {
		return pathErr("close", f.final, err)
	}
	return nil
}

// linkNoReplace is the portable no-replace rename: a hard link fails when
// the target exists; then the temporary name goes. For file systems
// without hard links (FAT, some network mounts) the last resort is a check
// and a rename, which leaves the short window this function exists to close.
func linkNoReplace(from, to string) error {
	err := os.Link(from, to)
	switch {
	case err == nil:
		return os.Remove(from)
	case errors.Is(err, fs.ErrExist):
		return err
	}
	if _, serr := os.Lstat(to); serr == nil {
		return fs.ErrExist
	} else if !errors.Is(serr, fs.ErrNotExist) {
		return serr
	}
	return os.Rename(from, to)
}

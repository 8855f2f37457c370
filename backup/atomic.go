package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// TempPrefix starts the name of every temporary file rcbs writes; the next
// run removes leftovers (spec §6).
const TempPrefix = ".rcbs-tmp-"

const (
	dirPerm  = 0o700 // recordings are personal data
	filePerm = 0o600
)

// atomicFile is a file written under a temporary name in its final folder
// and renamed into place by Commit, so a crash never leaves a partial file
// under a final name. Not safe for concurrent use, except WriteAt on
// disjoint ranges (the ranged download writes parts in parallel).
type atomicFile struct {
	*os.File
	final string
	done  bool
}

// createAtomic creates the temporary file for final (and its folders, 0700)
// with perm. Call Abort in a defer: it removes the file unless committed.
func createAtomic(final string, perm fs.FileMode) (*atomicFile, error) {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fileErr(dir, "create folder", err)
	}
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return nil, fileErr(final, "create temporary file for", err)
	}
	if perm != filePerm { // CreateTemp makes 0600
		if err := f.Chmod(perm); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, fileErr(final, "chmod", err)
		}
	}
	return &atomicFile{File: f, final: final}, nil
}

// Commit checks the size (when size >= 0), syncs, closes, renames into
// place and syncs the folder so the rename itself survives a crash.
func (a *atomicFile) Commit(size int64) error {
	if size >= 0 {
		st, err := a.Stat()
		if err != nil {
			return fileErr(a.final, "stat", err)
		}
		if st.Size() != size {
			return fmt.Errorf("write %s: %d bytes written, want %d", a.final, st.Size(), size)
		}
	}
	if err := a.Sync(); err != nil {
		return fileErr(a.final, "sync", err)
	}
	if err := a.Close(); err != nil {
		return fileErr(a.final, "close", err)
	}
	if err := os.Rename(a.Name(), a.final); err != nil {
		return fileErr(a.final, "rename into", err)
	}
	a.done = true
	return fsyncDir(filepath.Dir(a.final))
}

// Abort closes and removes the temporary file unless Commit succeeded.
// Safe to call more than once.
func (a *atomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.Close()
	os.Remove(a.Name())
}

// writeFileAtomic writes data to path through an atomicFile.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	f, err := createAtomic(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fileErr(path, "write", err)
	}
	return f.Commit(int64(len(data)))
}

// FileError is a local file operation that failed; it names the file.
type FileError struct {
	Op   string
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

func fileErr(path, op string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) { // the path is ours to name, once
		err = pe.Err
	}
	return &FileError{Op: op, Path: path, Err: err}
}

// permanentLocal reports a local error that a retry cannot fix: a full
// disk, a quota, a read-only or forbidden folder.
func permanentLocal(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		errors.Is(err, syscall.EROFS) || errors.Is(err, fs.ErrPermission)
}

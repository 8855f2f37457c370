// Package atomicfile writes files so that a crash never leaves a partial
// file under a final name: every byte goes to a temporary file in the final
// folder, which is checked, synced and renamed into place, and the folder
// synced so the rename survives too (restic's local backend does the same).
// The backup run and the decrypt job both write through it.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// TempPrefix starts the name of every temporary file rcbs writes; the next
// backup run removes leftovers (spec §6).
const TempPrefix = ".rcbs-tmp-"

// Recordings are personal data: folders 0700, files 0600 (spec §6).
const (
	DirPerm  fs.FileMode = 0o700
	FilePerm fs.FileMode = 0o600
)

// File is a file being written under a temporary name. Not safe for
// concurrent use, except WriteAt on disjoint ranges (a ranged download
// writes its parts in parallel).
type File struct {
	*os.File
	final string
	done  bool
	batch *Batch // nil: Commit syncs the folder itself
	sync  func(*os.File) error
	seq   uint64 // order of creation in the batch's group commit
}

// Option adjusts how a File or a Batch writes.
type Option func(*options)

type options struct {
	sync   func(*os.File) error
	custom bool // sync was given: a Batch calls it per file
}

// WithSync replaces the data sync Commit does before the rename ((*os.File).Sync
// when sync is nil). It is the seam tests use to prove the order of sync
// and rename and what a failed sync leaves behind.
func WithSync(sync func(*os.File) error) Option {
	return func(o *options) {
		if sync != nil {
			o.sync, o.custom = sync, true
		}
	}
}

func buildOptions(opts []Option) options {
	o := options{sync: (*os.File).Sync}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Create creates the temporary file for final (and final's folders, 0700)
// with perm. Call Abort in a defer: it removes the file unless committed.
// Errors are *fs.PathError naming final or its folder.
func Create(final string, perm fs.FileMode, opts ...Option) (*File, error) {
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, DirPerm); err != nil {
		return nil, pathErr("create folder", dir, err)
	}
	return create(final, perm, buildOptions(opts))
}

func create(final string, perm fs.FileMode, o options) (*File, error) {
	dir := filepath.Dir(final)
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return nil, pathErr("create temporary file for", final, err)
	}
	if perm != FilePerm { // CreateTemp makes 0600
		if err := f.Chmod(perm); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, pathErr("chmod", final, err)
		}
	}
	return &File{File: f, final: final, sync: o.sync}, nil
}

// Final is the name the file gets on Commit.
func (f *File) Final() string { return f.final }

// Commit checks the size (when size >= 0), syncs, closes, renames into
// place (replacing what is there) and syncs the folder — or, for a file of
// a Batch, leaves the folder to the Batch's Sync. A failed sync fails the
// commit and leaves no final file (Abort removes the temporary one); a file
// system that cannot sync at all (fsync answers ENOTSUP or EINVAL, as some
// FUSE and SMB mounts do) is not an error of the write.
func (f *File) Commit(size int64) error {
	if err := f.closeChecked(size); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), f.final); err != nil {
		return pathErr("rename into", f.final, err)
	}
	f.done = true
	if f.batch != nil {
		return nil
	}
	return SyncDir(filepath.Dir(f.final))
}

// Abort closes and removes the temporary file unless Commit succeeded.
// Safe to call more than once.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// syncUnsupported: the file system offers no fsync; waiting on it is all
// rcbs could do, so the write stands (restic treats these the same).
func syncUnsupported(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EINVAL)
}

// WriteFile writes data to path through a File.
func WriteFile(path string, data []byte, perm fs.FileMode, opts ...Option) error {
	f, err := Create(path, perm, opts...)
	if err != nil {
		return err
	}
	return f.writeAll(data)
}

// writeAll writes data and commits; on any failure the file is removed.
func (f *File) writeAll(data []byte) error {
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return pathErr("write", f.final, err)
	}
	return f.Commit(int64(len(data)))
}

// pathErr names path once, even when err already is a *fs.PathError about
// the temporary name.
func pathErr(op, path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: path, Err: err}
}

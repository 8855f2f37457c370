package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/rcbs/rcbs/internal/atomicfile"
)

// TempPrefix starts the name of every temporary file rcbs writes; the next
// run removes leftovers (spec §6).
const TempPrefix = atomicfile.TempPrefix

const (
	dirPerm  = atomicfile.DirPerm
	filePerm = atomicfile.FilePerm
)

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

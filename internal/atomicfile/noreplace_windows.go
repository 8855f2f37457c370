package atomicfile

import (
	"errors"
	"io/fs"

	"golang.org/x/sys/windows"
)

// renameNoReplace renames from to to unless to exists (fs.ErrExist):
// MoveFileEx without MOVEFILE_REPLACE_EXISTING fails then.
func renameNoReplace(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	err = windows.MoveFileEx(f, t, windows.MOVEFILE_WRITE_THROUGH)
	if errors.Is(err, windows.ERROR_ALREADY_EXISTS) || errors.Is(err, windows.ERROR_FILE_EXISTS) {
		return fs.ErrExist
	}
	return err
}

//go:build unix

package backup

import (
	"errors"
	"os"
	"syscall"
)

// fsyncDir makes a rename in dir durable. Some file systems (e.g. SMB
// mounts) refuse to sync a folder; that is not an error of the write.
func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fileErr(dir, "open folder", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fileErr(dir, "sync folder", err)
	}
	return nil
}

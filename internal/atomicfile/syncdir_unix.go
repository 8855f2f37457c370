//go:build unix

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// SyncDir makes a rename in dir durable. Some file systems (e.g. SMB
// mounts) refuse to sync a folder; that is not an error of the write.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return pathErr("open folder", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return pathErr("sync folder", dir, err)
	}
	return nil
}

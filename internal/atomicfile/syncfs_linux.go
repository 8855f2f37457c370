package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// haveSyncFS: Batch.Sync is one syncfs(2), not a sync per folder, and a
// Batch's files share their data syncs (group commit).
const haveSyncFS = true

// syncFS flushes the whole file system holding root: one call, however
// many folders a batch touched.
func syncFS(root string) error {
	d, err := os.Open(root)
	if err != nil {
		return pathErr("open folder", root, err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return pathErr("sync file system of", root, err)
	}
	return nil
}

// syncFSFile flushes the file system holding f.
func syncFSFile(f *os.File) error {
	return unix.Syncfs(int(f.Fd()))
}

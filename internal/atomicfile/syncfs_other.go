//go:build !linux

package atomicfile

import "os"

// haveSyncFS: no syncfs(2) here, so Batch.Sync syncs folder by folder.
const haveSyncFS = false

// syncFS is never called where haveSyncFS is false.
func syncFS(string) error { return nil }

// syncFSFile is never called where haveSyncFS is false.
func syncFSFile(*os.File) error { return nil }

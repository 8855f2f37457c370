//go:build !linux

package atomicfile

// haveSyncFS: no syncfs(2) here, so Batch.Sync syncs folder by folder.
const haveSyncFS = false

// syncFS is never called where haveSyncFS is false.
func syncFS(string) error { return nil }

//go:build !linux

package atomicfile

// syncFS is not available here: Sync falls back to one sync per folder.
func syncFS(string) error { return errNoSyncFS }

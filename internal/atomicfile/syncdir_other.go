//go:build !unix

package atomicfile

// SyncDir is a no-op where folders cannot be synced (Windows: a rename is
// made durable by NTFS's journal).
func SyncDir(string) error { return nil }

//go:build !unix

package backup

// fsyncDir is a no-op where folders cannot be synced (Windows: a rename is
// made durable by NTFS's journal).
func fsyncDir(string) error { return nil }

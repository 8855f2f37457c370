//go:build linux

package e2e

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs on dir with data (e.g. "size=1m") and flags
// (e.g. syscall.MS_RDONLY) until the test ends. Where mounting is
// impossible (not root, EPERM in a container) the test is skipped with the
// reason, or fails when CI=true: CI must not pass by skipping.
func mountTmpfs(t *testing.T, dir string, flags uintptr, data string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	err := syscall.Mount("tmpfs", dir, "tmpfs", flags, data)
	if err != nil {
		msg := "cannot mount a tmpfs (needs root and CAP_SYS_ADMIN): " + err.Error()
		switch {
		case os.Getenv("CI") == "true":
			t.Fatal(msg)
		case os.Geteuid() != 0, errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
			t.Skip(msg)
		default:
			t.Fatal(msg)
		}
	}
	t.Cleanup(func() {
		// Registered after t.TempDir's own cleanup, so it runs first:
		// the folder is unmounted before it is removed.
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// remountTmpfs changes a mounted tmpfs's options in place (e.g. a bigger
// size: the disk was freed).
func remountTmpfs(t *testing.T, dir string, data string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, data); err != nil {
		t.Fatalf("remount %s with %s: %v", dir, data, err)
	}
}

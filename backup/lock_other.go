//go:build !unix && !windows

package backup

import "os"

// tryLock has no OS lock to take on this platform (js, wasip1, plan9): it
// always succeeds, so two runs on one targetDir are not prevented here.
func tryLock(*os.File) (bool, error) { return false, nil }

func unlock(*os.File) error { return nil }

package backup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFileName is the lock file in targetDir (spec §5).
const LockFileName = ".rcbs.lock"

// DirLock is an exclusive OS lock on a target directory. The OS releases it
// when the process dies, so a crash never leaves a stale lock behind.
type DirLock struct {
	f   *os.File
	dir string
}

// Lock takes the lock of dir (which must exist) without waiting, and writes
// our pid into the lock file. Held by another process: *LockedError naming
// its pid. Defer Unlock on the next line.
func Lock(dir string) (*DirLock, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fileErr(path, "open lock file", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fileErr(path, "lock", err)
	}
	if held {
		pid := readPID(path)
		f.Close()
		return nil, &LockedError{Dir: dir, PID: pid}
	}
	if err := writePID(f); err != nil {
		unlock(f)
		f.Close()
		return nil, fileErr(path, "write pid to", err)
	}
	return &DirLock{f: f, dir: dir}, nil
}

// Unlock releases the lock. The file stays: removing it would race with a
// process that has just opened it.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readPID reads the holder's pid; 0 when the file cannot tell (the holder
// may not have written it yet).
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// String names the locked folder, for logs.
func (l *DirLock) String() string { return "lock on " + l.dir }

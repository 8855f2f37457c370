package backup

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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

// writePID overwrites the file from offset 0 and only then cuts it to
// length: a reader sees the old pid or the new one (its first line), never
// an empty file, as it would between a truncate and a write.
func writePID(f *os.File) error {
	line := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if _, err := f.WriteAt(line, 0); err != nil {
		return err
	}
	if err := f.Truncate(int64(len(line))); err != nil {
		return err
	}
	return f.Sync()
}

// pidReads and pidReadGap: a lock file only just created is empty until its
// holder writes its pid, so an empty one is read again a few times.
const (
	pidReads   = 5
	pidReadGap = 20 * time.Millisecond
)

// readPID reads the holder's pid; 0 when the file cannot tell (a holder
// that has not written it yet, or an unreadable file).
func readPID(path string) int {
	for i := range pidReads {
		if i > 0 {
			time.Sleep(pidReadGap)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		if pid := parsePID(b); pid > 0 {
			return pid
		}
	}
	return 0
}

// parsePID reads the first line: while a shorter pid overwrites a longer
// one, the old one's tail follows it.
func parsePID(b []byte) int {
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// String names the locked folder, for logs.
func (l *DirLock) String() string { return "lock on " + l.dir }

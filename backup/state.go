package backup

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// stateFileLimit bounds how much of the state file is read: a valid one is
// 14 bytes; anything much longer is corrupt.
const stateFileLimit = 64

// StatePath is the state file of targetDir (spec §6).
func StatePath(targetDir string) string {
	return filepath.Join(filepath.FromSlash(targetDir), StateFileName)
}

// ReadState reads last_recording_endtime.txt in targetDir: one line of 13
// digits, epoch milliseconds. ok is false when the file does not exist. A
// trailing newline, CRLF or blanks are tolerated (the file may have been
// edited by hand on Windows); anything else is an error naming the file, not
// a silent fallback to maxAge, because guessing could skip recordings.
func ReadState(targetDir string) (t time.Time, ok bool, err error) {
	path := StatePath(targetDir)
	b, err := readStateFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read state file %s: %w", path, err)
	}
	s := strings.TrimRight(string(b), " \t\r\n")
	if len(s) != 13 || strings.Trim(s, "0123456789") != "" {
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return time.Time{}, false, fmt.Errorf("state file %s is corrupt: want 13-digit epoch milliseconds, got %q (fix or delete it, or set skipLastRecordingCheck=true)", path, s)
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("state file %s is corrupt: %w", path, err)
	}
	return time.UnixMilli(ms).UTC(), true, nil
}

func readStateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, errors.New("is a directory")
	}
	return io.ReadAll(io.LimitReader(f, stateFileLimit))
}

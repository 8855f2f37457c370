package backup

import (
	"fmt"
	"time"

	"github.com/rcbs/rcbs/internal/atomicfile"
)

// stateMark is the state file as this run knows it: one "everything before
// this is done" time that only ever moves forward. Used by the shard loop
// only (one goroutine).
type stateMark struct {
	path string
	cur  time.Time
	ok   bool // the file exists
}

func newStateMark(targetDir string) (*stateMark, error) {
	t, ok, err := ReadState(targetDir)
	if err != nil {
		return nil, err
	}
	return &stateMark{path: StatePath(targetDir), cur: t, ok: ok}, nil
}

// advance writes t when it moves the state forward (or creates the file);
// an unchanged or older time leaves the file untouched, so a one-off export
// of an old period never moves the state back.
func (s *stateMark) advance(t time.Time) error {
	if s.ok && !t.After(s.cur) {
		return nil
	}
	line := fmt.Sprintf("%013d\n", t.UnixMilli()) // 13 digits, as ReadState wants
	if err := atomicfile.WriteFile(s.path, []byte(line), filePerm); err != nil {
		return err
	}
	s.cur, s.ok = t, true
	return nil
}

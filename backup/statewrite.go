package backup

import (
	"fmt"
	"time"

	"github.com/rcbs/rcbs/internal/atomicfile"
	"github.com/rcbs/rcbs/sharding"
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

// advance records that sh (and every shard before it in this run) is
// complete: it writes sh's end when that moves the state forward (or
// creates the file). An unchanged or older time leaves the file untouched,
// so a run over an old period never moves the state back; a shard that
// starts after the current state leaves it untouched too, since the time
// between the state and the shard was not covered (spec §4).
func (s *stateMark) advance(sh sharding.Window) error {
	t := sh.End
	if s.ok && (!t.After(s.cur) || sh.Start.After(s.cur)) {
		return nil
	}
	line := fmt.Sprintf("%013d\n", t.UnixMilli()) // 13 digits, as ReadState wants
	if err := atomicfile.WriteFile(s.path, []byte(line), filePerm); err != nil {
		return err
	}
	s.cur, s.ok = t, true
	return nil
}

package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/rcbs/rcbs/metadata"
)

// A disk that cannot make a file durable fails the recording: neither the
// media nor recording.json gets its final name, and the state file does not
// move past the shard (spec §6, §7).
func TestFailedSyncFailsTheRecording(t *testing.T) {
	w := newWorld(t)
	good := w.addRecording("GOOD", day(1, 10), media{id: "GOOD.mp3", typ: "audio/mp3", data: blob(1, 500)})
	bad := w.addRecording("BAD", day(2, 10), media{id: "BAD.mp3", typ: "audio/mp3", data: blob(2, 700)})
	var failed atomic.Int64
	deps := w.deps()
	deps.Tuning.FileSync = func(f *os.File) error {
		// Only BAD's media fails: its temporary file sits in BAD's folder.
		if filepath.Base(filepath.Dir(f.Name())) == bad.ID {
			failed.Add(1)
			return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.EIO}
		}
		return f.Sync()
	}
	sum, err := w.run(context.Background(), deps)
	if failed.Load() == 0 {
		t.Fatal("premise: no sync of BAD's files was made to fail")
	}
	if !errors.Is(err, ErrRecordingsFailed) || sum.Failed != 1 || sum.Downloaded != 1 {
		t.Fatalf("run: %v, summary %+v; want BAD failed and GOOD downloaded", err, sum)
	}
	if !strings.Contains(w.logs.String(), "input/output error") {
		t.Errorf("the log does not give the sync error:\n%s", w.logs.String())
	}
	badDir := w.recDir(bad.ID, bad.StartTime)
	entries, _ := os.ReadDir(badDir)
	if len(entries) != 0 {
		t.Errorf("left in %s: %v", badDir, entries)
	}
	checkMedia(t, w.target, map[string][]byte{"2018/01/01/10/GOOD/GOOD.mp3.bin": blob(1, 500)})
	if _, err := os.Stat(filepath.Join(w.recDir(good.ID, good.StartTime), RecordingFile)); err != nil {
		t.Errorf("GOOD is not complete: %v", err)
	}
	if got := readState(t, w.target); got != stateLine(day(2, 0)) {
		t.Errorf("state %q, want %q: the failed shard must hold it", got, stateLine(day(2, 0)))
	}
}

// Summary.FailedIDs keeps the first MaxFailedIDs ids and Failed counts
// them all: a run where every recording fails holds no more ids than that.
func TestFailedIDsBounded(t *testing.T) {
	w := newWorld(t)
	e := newEngine(w.config(), w.deps())
	n := MaxFailedIDs + 50
	for i := range n {
		rec := metadata.Recording{ID: fmt.Sprintf("../BAD%03d", i)} // invalid: fails without any I/O
		if hold := e.handle(context.Background(), e.log, rec); hold {
			t.Fatalf("an invalid recording holds the state")
		}
	}
	if e.sum.Failed != n || len(e.sum.FailedIDs) != MaxFailedIDs || e.sum.FailedIDs[0] != "../BAD000" {
		t.Errorf("failed %d, %d ids kept (first %q); want %d failed, the first %d ids kept", e.sum.Failed, len(e.sum.FailedIDs), e.sum.FailedIDs[0], n, MaxFailedIDs)
	}
}

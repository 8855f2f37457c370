package backup

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/rcbs/rcbs/archive"
)

// plantTemps writes a leftover temporary file into each folder (created if
// missing) and returns their paths.
func plantTemps(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for i, d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, TempPrefix+string(rune('a'+i)))
		if err := os.WriteFile(p, []byte("left by a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// TestSweepAfterCleanRunIsLocal: after a run that ended cleanly the next
// run does not walk the archive: a leftover in a folder it does not touch
// stays; the ones in targetDir itself and in the folder it downloads into
// go. The marker is gone after each clean run.
func TestSweepAfterCleanRunIsLocal(t *testing.T) {
	w := newWorld(t)
	w.addRecording("REC1", day(1, 1), media{id: "REC1.mp3", typ: "audio/mp3", data: blob(1, 10)})
	if _, err := w.run(context.Background(), w.deps()); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(w.target, archive.MetaDir, RunMarkerName)
	if exists(marker) {
		t.Fatal("the run marker survived a clean run")
	}
	w.addRecording("REC2", day(2, 5), media{id: "REC2.mp3", typ: "audio/mp3", data: blob(2, 10)})
	temps := plantTemps(t, filepath.Join(w.target, "2017", "12", "31", "23", "OLD"), w.target, w.recDir("REC2", day(2, 5)))
	sum, err := w.run(context.Background(), w.deps())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Downloaded != 1 {
		t.Fatalf("downloaded %d, want 1 (REC2)", sum.Downloaded)
	}
	for i, want := range []bool{true, false, false} {
		if exists(temps[i]) != want {
			t.Errorf("%s: exists %v, want %v", temps[i], !want, want)
		}
	}
	if exists(marker) {
		t.Error("the run marker survived a clean run")
	}
}

// TestSweepAfterCrashIsWhole: a marker left by a run that died makes the
// next run walk the whole tree; the marker is there while a run works.
func TestSweepAfterCrashIsWhole(t *testing.T) {
	w := newWorld(t)
	w.addRecording("REC1", day(1, 1), media{id: "REC1.mp3", typ: "audio/mp3", data: blob(1, 10)})
	if _, err := w.run(context.Background(), w.deps()); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(w.target, archive.MetaDir, RunMarkerName)
	if err := os.WriteFile(marker, []byte("pid 1\n"), 0o600); err != nil { // as kill -9 leaves it
		t.Fatal(err)
	}
	temps := plantTemps(t, filepath.Join(w.target, "2017", "12", "31", "23", "OLD"), w.recDir("REC1", day(1, 1)))
	w.addRecording("REC2", day(2, 5), media{id: "REC2.mp3", typ: "audio/mp3", data: blob(2, 10)})
	cfg := w.config()
	var markedDuringGet atomic.Bool
	deps := w.deps()
	deps.S3 = &hookStore{inner: w.store(cfg), hook: func(_ int, _ GetInput, obj *Object) (*Object, error) {
		markedDuringGet.Store(exists(marker))
		return obj, nil
	}}
	if _, err := Run(context.Background(), cfg, deps); err != nil {
		t.Fatal(err)
	}
	for _, p := range temps {
		if exists(p) {
			t.Errorf("%s: left after a run that followed a crash", p)
		}
	}
	if !markedDuringGet.Load() {
		t.Error("no run marker while the run downloaded")
	}
	if exists(marker) {
		t.Error("the run marker survived a clean run")
	}
}

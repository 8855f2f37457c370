package backup

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcbs/rcbs/metadata"
	"github.com/rcbs/rcbs/sharding"
)

func TestRunDownloadsLayoutAndOrder(t *testing.T) {
	w := newWorld(t)
	a1, a2, v1 := blob(1, 1000), blob(2, 70_000), blob(3, 5000)
	api, unk := blob(4, 3000), blob(5, 777)
	r1 := w.addRecording("REC1", day(1, 10),
		media{id: "REC1_a.mp3", typ: "audio/mp3", data: a1},
		media{id: "REC1_v.mp4", typ: "video/mp4", data: v1},
		media{id: "REC1_t.txt", typ: "text/plain", data: blob(9, 10)}) // filtered out
	r2 := w.addRecording("REC2", day(2, 23), media{id: "REC2_a.mp3", typ: "audio/mp3", data: a2})
	r3 := w.addRecording("REC3", day(3, 0),
		media{id: "REC3_api.mp3", typ: "audio/mp3", data: api, api: true},
		media{id: "REC3_unk.mp3", typ: "audio/mp3", data: unk, size: "null"})
	r4 := w.addRecording("REC4", day(3, 5), media{id: "REC4_t.txt", typ: "text/plain", data: blob(8, 10)})
	w.addRecording("LATE", day(4, 0), media{id: "LATE.mp3", typ: "audio/mp3", data: a1}) // after the window

	// recording.json is written last: no media GET may come after it.
	cfg := w.config()
	var violations []string
	var mu sync.Mutex
	hs := &hookStore{inner: w.store(cfg), hook: func(_ int, in GetInput, obj *Object) (*Object, error) {
		for _, r := range []metadata.Recording{r1, r2, r3} {
			if strings.HasPrefix(strings.TrimPrefix(in.Key, "media/"), r.ID) {
				if _, err := os.Stat(filepath.Join(w.recDir(r.ID, r.StartTime), RecordingFile)); err == nil {
					mu.Lock()
					violations = append(violations, in.Key)
					mu.Unlock()
				}
			}
		}
		return obj, nil
	}}
	deps := w.deps()
	deps.S3 = hs
	sum, err := Run(context.Background(), cfg, deps)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if len(violations) > 0 {
		t.Errorf("media fetched after recording.json was written: %v", violations)
	}
	want := map[string][]byte{
		"2018/01/01/10/REC1/REC1_a.mp3.bin":   a1,
		"2018/01/01/10/REC1/REC1_v.mp4.bin":   v1,
		"2018/01/02/23/REC2/REC2_a.mp3.bin":   a2,
		"2018/01/03/00/REC3/REC3_api.mp3.bin": api,
		"2018/01/03/00/REC3/REC3_unk.mp3.bin": unk,
	}
	checkMedia(t, w.target, want)
	for _, r := range []metadata.Recording{r1, r2, r3, r4} {
		checkJSON(t, filepath.Join(w.recDir(r.ID, r.StartTime), RecordingFile), r.Raw)
	}
	wantFiles := slices.Collect(maps.Keys(want))
	wantFiles = append(wantFiles, LockFileName, StateFileName, "2018/01/01/10/REC1/recording.json",
		"2018/01/02/23/REC2/recording.json", "2018/01/03/00/REC3/recording.json", "2018/01/03/05/REC4/recording.json")
	if got := slices.Sorted(maps.Keys(tree(t, w.target))); !slices.Equal(got, slices.Sorted(slices.Values(wantFiles))) {
		t.Errorf("tree:\n%v\nwant:\n%v", got, slices.Sorted(slices.Values(wantFiles)))
	}
	checkDirModes(t, w.target)
	if got := readState(t, w.target); got != stateLine(day(4, 0)) {
		t.Errorf("state %q, want %q", got, stateLine(day(4, 0)))
	}
	wantSum := Summary{Shards: 3, Listed: 4, Mine: 4, Downloaded: 4}
	if sum.Shards != wantSum.Shards || sum.Listed != wantSum.Listed || sum.Mine != wantSum.Mine ||
		sum.Downloaded != wantSum.Downloaded || sum.Skipped != 0 || sum.Failed != 0 {
		t.Errorf("summary %+v", sum)
	}
	if min := int64(len(a1) + len(a2) + len(v1) + len(api) + len(unk)); sum.Bytes <= min {
		t.Errorf("bytes %d, want media %d plus the recording.json files", sum.Bytes, min)
	}
	if !sum.Window.Start.Equal(day(1, 0)) || !sum.Window.End.Equal(day(4, 0)) {
		t.Errorf("window %v", sum.Window)
	}
	checkNoTemps(t, w.target)
	if strings.Contains(w.logs.String(), testSecret) {
		t.Error("the AWS secret appears in the log")
	}
}

// checkDirModes asserts that every folder rcbs created is 0700.
func checkDirModes(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			if info, _ := d.Info(); info.Mode().Perm() != 0o700 {
				t.Errorf("%s: mode %v, want 0700", p, info.Mode().Perm())
			}
		}
		return nil
	})
}

func TestRunSkipsCompleteAndRefetchesMissing(t *testing.T) {
	w := newWorld(t)
	r1 := w.addRecording("REC1", day(1, 1), media{id: "REC1.mp3", typ: "audio/mp3", data: blob(1, 4000)})
	r2 := w.addRecording("REC2", day(2, 1), media{id: "REC2.mp3", typ: "audio/mp3", data: blob(2, 4000)},
		media{id: "REC2.mp4", typ: "video/mp4", data: blob(3, 2000)})
	w.addRecording("REC3", day(3, 1), media{id: "REC3.mp3", typ: "audio/mp3", data: blob(4, 100)})
	if _, err := w.run(context.Background(), w.deps()); err != nil {
		t.Fatal(err)
	}
	// Move one recording away, delete one media file of another, and
	// damage nothing else: only those come again.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(w.recDir("REC1", r1.StartTime), moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(w.recDir("REC2", r2.StartTime), "REC2.mp4.bin")); err != nil {
		t.Fatal(err)
	}
	cfg := w.config()
	hs := &hookStore{inner: w.store(cfg)}
	deps := w.deps()
	deps.S3 = hs
	sum, err := Run(context.Background(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Downloaded != 2 || sum.Skipped != 1 {
		t.Errorf("downloaded %d skipped %d, want 2 and 1", sum.Downloaded, sum.Skipped)
	}
	var keys []string
	for _, in := range hs.requests() {
		keys = append(keys, in.Key)
	}
	slices.Sort(keys)
	if want := []string{"media/REC1.mp3", "media/REC2.mp4"}; !slices.Equal(keys, want) {
		t.Errorf("fetched %v, want %v (the complete media file of REC2 is kept)", keys, want)
	}
	checkMedia(t, w.target, map[string][]byte{
		"2018/01/01/01/REC1/REC1.mp3.bin": blob(1, 4000),
		"2018/01/02/01/REC2/REC2.mp4.bin": blob(3, 2000),
	})
	// A third run has nothing to do.
	hs = &hookStore{inner: w.store(cfg)}
	deps.S3 = hs
	if sum, err = Run(context.Background(), cfg, deps); err != nil || sum.Skipped != 3 || len(hs.requests()) != 0 {
		t.Errorf("third run: %+v, %v, %d requests", sum, err, len(hs.requests()))
	}
}

func TestMediaCompleteSizes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) {
		if err := os.WriteFile(filepath.Join(dir, name+".bin"), blob(1, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("exact", 10)
	write("short", 9)
	write("unknown", 5)
	write("empty", 0)
	e := newEngine(newWorld(t).config(), Deps{})
	tests := []struct {
		id   string
		size int64
		want bool
	}{
		{"exact", 10, true},
		{"short", 10, false},
		{"unknown", -1, true},
		{"empty", -1, false},
		{"missing", 10, false},
		{"missing", -1, false},
	}
	for _, tt := range tests {
		if got := e.mediaComplete(dir, metadata.MediaFile{MediaID: tt.id, Size: tt.size}); got != tt.want {
			t.Errorf("%s size %d: complete %v, want %v", tt.id, tt.size, got, tt.want)
		}
	}
}

func TestStateFileAdvance(t *testing.T) {
	tests := []struct {
		name    string
		before  time.Time // zero: no state file
		want    time.Time
		rewrite bool
	}{
		{"created when absent", time.Time{}, day(4, 0), true},
		{"moved forward", day(2, 0), day(4, 0), true},
		{"one-off export of an old period never moves it back", day(20, 0), day(20, 0), false},
		{"unchanged is not rewritten", day(4, 0), day(4, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.addRecording("REC1", day(1, 1), media{id: "REC1.mp3", typ: "audio/mp3", data: blob(1, 10)})
			path := filepath.Join(w.target, StateFileName)
			old := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
			if !tt.before.IsZero() {
				os.MkdirAll(w.target, 0o700)
				if err := os.WriteFile(path, []byte(stateLine(tt.before)), 0o600); err != nil {
					t.Fatal(err)
				}
				os.Chtimes(path, old, old)
			}
			if _, err := w.run(context.Background(), w.deps()); err != nil {
				t.Fatal(err)
			}
			if got := readState(t, w.target); got != stateLine(tt.want) {
				t.Errorf("state %q, want %q", got, stateLine(tt.want))
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if rewritten := !info.ModTime().Equal(old); rewritten != tt.rewrite {
				t.Errorf("rewritten %v, want %v", rewritten, tt.rewrite)
			}
			if info.Mode().Perm() != 0o600 && tt.rewrite {
				t.Errorf("state file mode %v", info.Mode().Perm())
			}
		})
	}
}

func TestFailedRecordingHoldsState(t *testing.T) {
	w := newWorld(t)
	w.addRecording("OK1", day(1, 1), media{id: "OK1.mp3", typ: "audio/mp3", data: blob(1, 100)})
	w.addRecording("GONE", day(2, 1), media{id: "GONE.mp3", typ: "audio/mp3", data: blob(2, 100), noPut: true})
	w.addRecording("OK2", day(2, 2), media{id: "OK2.mp3", typ: "audio/mp3", data: blob(3, 100)})
	w.addRecording("OK3", day(3, 1), media{id: "OK3.mp3", typ: "audio/mp3", data: blob(4, 100)})
	sum, err := w.run(context.Background(), w.deps())
	if !errors.Is(err, ErrRecordingsFailed) {
		t.Fatalf("err %v, want ErrRecordingsFailed", err)
	}
	var re *RecordingError
	if !errors.As(err, &re) && !strings.Contains(w.logs.String(), "GONE") {
		t.Error("the failed recording is not named")
	}
	if sum.Failed != 1 || !slices.Equal(sum.FailedIDs, []string{"GONE"}) || sum.Downloaded != 3 {
		t.Errorf("summary %+v", sum)
	}
	// Shard 1 completed; shard 2 failed, so neither it nor shard 3 moves the state.
	if got := readState(t, w.target); got != stateLine(day(2, 0)) {
		t.Errorf("state %q, want the end of shard 1 %q", got, stateLine(day(2, 0)))
	}
	checkMedia(t, w.target, map[string][]byte{"2018/01/03/01/OK3/OK3.mp3.bin": blob(4, 100)})
	if _, err := os.Stat(filepath.Join(w.recDir("GONE", day(2, 1)), RecordingFile)); err == nil {
		t.Error("recording.json written for a failed recording")
	}
	// The next run fetches it once it is there, and the state moves on.
	w.put("media/GONE.mp3", blob(2, 100))
	if sum, err = w.run(context.Background(), w.deps()); err != nil || sum.Downloaded != 1 || sum.Skipped != 3 {
		t.Fatalf("second run: %+v, %v", sum, err)
	}
	if got := readState(t, w.target); got != stateLine(day(4, 0)) {
		t.Errorf("state %q after the retry run", got)
	}
}

func TestListingErrorHoldsState(t *testing.T) {
	w := newWorld(t)
	w.addRecording("OK1", day(1, 1), media{id: "OK1.mp3", typ: "audio/mp3", data: blob(1, 100)})
	w.addRecording("OK3", day(3, 1), media{id: "OK3.mp3", typ: "audio/mp3", data: blob(4, 100)})
	w.lister.listErr = map[time.Time]error{day(2, 0): &metadata.HTTPError{Status: 503}}
	sum, err := w.run(context.Background(), w.deps())
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("err %v, want the listing error", err)
	}
	if sum.Downloaded != 2 {
		t.Errorf("later shards not attempted: %+v", sum)
	}
	if got := readState(t, w.target); got != stateLine(day(2, 0)) {
		t.Errorf("state %q, want %q", got, stateLine(day(2, 0)))
	}
	// An auth error stops the run at once.
	w.lister.listErr = map[time.Time]error{day(1, 0): &metadata.AuthError{User: "u", Status: 401}}
	w.lister.lists = 0
	_, err = w.run(context.Background(), w.deps())
	if !errors.As(err, new(*metadata.AuthError)) || w.lister.lists != 1 {
		t.Errorf("auth error: %v after %d listings, want it after 1", err, w.lister.lists)
	}
}

func TestInvalidRecordingsFailWithoutHoldingState(t *testing.T) {
	w := newWorld(t)
	bad := []string{"../x", "a/b", `a\b`, "..", "x\x00y", "tab\there", strings.Repeat("L", 256)}
	for _, id := range bad {
		w.addRecording(id, day(1, 1), media{id: "m.mp3", typ: "audio/mp3", data: blob(1, 10), noPut: true})
	}
	w.addRecording("OKID", day(1, 2), media{id: "../../../../escape", typ: "audio/mp3", data: blob(2, 10), noPut: true})
	w.addRecording("GOOD", day(2, 1), media{id: "GOOD.mp3", typ: "audio/mp3", data: blob(3, 10)})
	parent := filepath.Dir(w.target)
	sum, err := w.run(context.Background(), w.deps())
	if !errors.Is(err, ErrRecordingsFailed) {
		t.Fatalf("err %v, want ErrRecordingsFailed", err)
	}
	if sum.Failed != len(bad)+1 || sum.Downloaded != 1 {
		t.Errorf("summary %+v", sum)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 1 || entries[0].Name() != "target" {
		t.Errorf("something was written beside targetDir: %v", entries)
	}
	want := map[string]bool{LockFileName: true, StateFileName: true,
		"2018/01/02/01/GOOD/GOOD.mp3.bin": true, "2018/01/02/01/GOOD/recording.json": true}
	for rel := range tree(t, w.target) {
		if !want[rel] {
			t.Errorf("unexpected file %q", rel)
		}
	}
	if got := readState(t, w.target); got != stateLine(day(4, 0)) {
		t.Errorf("state %q: invalid ids must not hold it back", got)
	}
}

func TestWithinTargetDir(t *testing.T) {
	root := filepath.FromSlash("/t/target")
	tests := []struct {
		elems []string
		ok    bool
	}{
		{[]string{"2018/01/01", "ID"}, true},
		{[]string{"a", "..", "b"}, true},
		{[]string{"..", "x"}, false},
		{[]string{"2018", "../../x"}, false},
		{[]string{""}, false},
		{[]string{"."}, false},
		{[]string{"a/../.."}, false},
	}
	for _, tt := range tests {
		_, err := within(root, tt.elems...)
		if (err == nil) != tt.ok {
			t.Errorf("within(%q): err %v, want ok=%v", tt.elems, err, tt.ok)
		}
		if err != nil && !errors.Is(err, errInvalid) {
			t.Errorf("within(%q): %v is not errInvalid", tt.elems, err)
		}
	}
}

func TestMediaTypeFilter(t *testing.T) {
	w := newWorld(t)
	w.extra = "mediaTypePattern=audio\\\\/mp3\n" // the manual's escaped form
	w.addRecording("REC1", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 10)},
		media{id: "v.mp4", typ: "video/mp4", data: blob(2, 10)})
	w.addRecording("REC2", day(1, 2), media{id: "v2.mp4", typ: "video/mp4", data: blob(3, 10)})
	sum, err := w.run(context.Background(), w.deps())
	if err != nil || sum.Downloaded != 2 {
		t.Fatalf("%+v, %v", sum, err)
	}
	got := slices.Sorted(maps.Keys(tree(t, w.target)))
	want := []string{LockFileName, "2018/01/01/01/REC1/a.mp3.bin", "2018/01/01/01/REC1/recording.json",
		"2018/01/01/02/REC2/recording.json", StateFileName}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("tree %v, want %v", got, want)
	}
}

func TestMetadataOnlyNeedsNoS3(t *testing.T) {
	w := newWorld(t)
	w.extra = "metadataOnly=true\nawsEndpoint=\n"
	r := w.addRecording("REC1", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 10)})
	cfg := w.config()
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "", ""
	cfg.AWSEndpoint = "http://127.0.0.1:1" // would fail if contacted
	sum, err := Run(context.Background(), cfg, w.deps())
	if err != nil || sum.Downloaded != 1 {
		t.Fatalf("%+v, %v", sum, err)
	}
	checkJSON(t, filepath.Join(w.recDir("REC1", r.StartTime), RecordingFile), r.Raw)
	if _, err := os.Stat(filepath.Join(w.recDir("REC1", r.StartTime), "a.mp3.bin")); err == nil {
		t.Error("media downloaded in metadataOnly mode")
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	w := newWorld(t)
	w.addRecording("REC1", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 10)},
		media{id: "b.mp4", typ: "video/mp4", data: blob(2, 25)})
	w.addRecording("REC2", day(2, 1), media{id: "c.mp3", typ: "audio/mp3", data: blob(3, 7)})
	deps := w.deps()
	deps.DryRun = true
	cfg := w.config()
	cfg.AWSEndpoint = "http://127.0.0.1:1" // S3 is not contacted
	var mu sync.Mutex
	pending := map[string]int64{}
	deps.Pending = func(id string, n int64) { mu.Lock(); pending[id] = n; mu.Unlock() }
	sum, err := Run(context.Background(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"REC1": 35, "REC2": 7}; !maps.Equal(pending, want) {
		t.Errorf("pending %v, want %v", pending, want)
	}
	if sum.Pending != 2 || sum.PendingBytes != 42 || sum.Downloaded != 0 {
		t.Errorf("summary %+v", sum)
	}
	if _, err := os.Stat(w.target); !os.IsNotExist(err) {
		t.Errorf("targetDir created by a dry run: %v", err)
	}
}

func TestRunLocked(t *testing.T) {
	w := newWorld(t)
	os.MkdirAll(w.target, 0o700)
	l, err := Lock(w.target)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	_, err = w.run(context.Background(), w.deps())
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !IsLocked(err) {
		t.Fatalf("err %v, want LockedError with our pid", err)
	}
	if !strings.Contains(err.Error(), "is in use by another rcbs (pid ") {
		t.Errorf("message %q", err)
	}
}

// TestSummaryLine: the same fields after "done:" or, for a run that
// stopped before walking every shard, "stopped:" (spec §9).
func TestSummaryLine(t *testing.T) {
	s := Summary{Window: sharding.Window{Start: day(1, 0), End: day(4, 0)}, Shards: 3, Listed: 5, Mine: 4,
		Downloaded: 2, Skipped: 1, Failed: 1, Bytes: 1234, Duration: 1500 * time.Millisecond}
	fields := "window 2018-01-01T00:00:00.000Z..2018-01-04T00:00:00.000Z, shards 3, recordings listed 5, mine 4, downloaded 2, skipped 1, failed 1, bytes 1234, 1.5s"
	if got := s.Line(); got != "done: "+fields {
		t.Errorf("Line() = %q", got)
	}
	s.Stopped = true
	if got := s.Line(); got != "stopped: "+fields {
		t.Errorf("stopped Line() = %q", got)
	}
}

// TestRunStopsWhenRefused: refused credentials stop the run before its
// first shard: the summary says so, and a run that walked every shard
// does not.
func TestRunStopsWhenRefused(t *testing.T) {
	w := newWorld(t)
	w.addRecording("REC1", day(1, 1), media{id: "REC1.mp3", typ: "audio/mp3", data: blob(1, 10)})
	w.lister.listErr = map[time.Time]error{day(1, 0): &metadata.AuthError{User: "alice", Status: 401}}
	sum, err := w.run(context.Background(), w.deps())
	if !errors.As(err, new(*metadata.AuthError)) || !sum.Stopped || sum.Shards != 3 {
		t.Errorf("Run = stopped %v, %d shards, err %v; want stopped, 3 shards, *AuthError", sum.Stopped, sum.Shards, err)
	}
	w.lister.listErr = nil
	if sum, err := w.run(context.Background(), w.deps()); err != nil || sum.Stopped {
		t.Errorf("Run = stopped %v, err %v; want a run that walked every shard", sum.Stopped, err)
	}
}

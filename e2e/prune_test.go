//go:build unix

package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// pruneWorld is an archive of 30 recordings over the 40 days before t0,
// backed up with maxAge 45 and kept for 46 days.
type pruneWorld struct {
	*verifyArchive
}

func newPruneWorld(t *testing.T, seed int64) *pruneWorld {
	t.Helper()
	w := newWorld(t, cloudsim.Options{Recordings: 30, Seed: seed, Start: t0().Add(-40 * day), End: t0()})
	a := &verifyArchive{w: w, target: filepath.Join(t.TempDir(), "target"), recs: w.cloud.Recordings()}
	a.keyFile, a.pub, _ = writeEd25519(t, t.TempDir(), "manifest")
	p := &pruneWorld{a}
	w.run(t, p.config(t), t0())
	return p
}

func (p *pruneWorld) config(t *testing.T, kv ...string) string {
	return p.verifyArchive.config(t, p.target, append([]string{"maxAge", "45", "retentionDays", "46"}, kv...)...)
}

func (p *pruneWorld) prune(t *testing.T, cfg string, now time.Time, args ...string) result {
	t.Helper()
	return p.w.rcbs(t, append([]string{"prune", "-config", cfg, "-now", now.Format(time.RFC3339)}, args...)...)
}

// expired are the recordings that start before cutoff.
func expired(recs []cloudsim.Recording, cutoff time.Time) (old, kept []cloudsim.Recording) {
	for _, r := range recs {
		if r.StartTime.Before(cutoff) {
			old = append(old, r)
		} else {
			kept = append(kept, r)
		}
	}
	return old, kept
}

// TestPruneJourney: a dry run changes nothing; a prune moves exactly the
// expired recordings, whole, to the trash, keeps the one under legal hold,
// removes emptied folders, writes an audit line each, and leaves an archive
// that verifies clean; the trash is emptied after trashDays; a release
// lets the held one go.
func TestPruneJourney(t *testing.T) {
	t.Parallel()
	p := newPruneWorld(t, 171)
	cfg := p.config(t)
	when := t0().Add(30 * day) // cutoff: when − 46 days = t0 − 16 days
	old, kept := expired(p.recs, when.Add(-46*day))
	if len(old) < 3 || len(kept) < 3 {
		t.Fatalf("premise: some recordings expire and some do not; got %d and %d", len(old), len(kept))
	}
	held := old[0]
	if r := p.w.rcbs(t, "prune", "-config", cfg, "-hold", held.ID); r.code != 0 || !strings.Contains(r.stdout, "hold: recording "+held.ID) {
		t.Fatalf("-hold: %s", r)
	}
	before := pathSizes(t, p.target)
	r := p.prune(t, cfg, when, "-dry-run")
	if r.code != 0 || strings.Count(r.stdout, "would prune: recording ") != len(old)-1 || !strings.Contains(r.stdout, "held: recording "+held.ID) {
		t.Fatalf("-dry-run: want %d recordings listed and %s held; got %s", len(old)-1, held.ID, r)
	}
	if after := pathSizes(t, p.target); !maps2Equal(before, after) {
		t.Fatalf("-dry-run changed the archive")
	}
	r = p.prune(t, cfg, when)
	if r.code != 0 || strings.Count(r.stdout, "pruned: recording ") != len(old)-1 {
		t.Fatalf("prune: want %d pruned; got %s", len(old)-1, r)
	}
	trash := filepath.Join(p.target, ".rcbs", "trash", when.Format("2006-01-02"))
	for _, rec := range old[1:] {
		checkRecording(t, filepath.Join(trash, recDir(rec)), rec)
		if _, err := os.Stat(filepath.Join(p.target, recDir(rec))); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still in place", rec.ID)
		}
		checkNoEmptyFolders(t, p.target, filepath.Dir(recDir(rec)))
	}
	checkRecording(t, filepath.Join(p.target, recDir(held)), held)
	for _, rec := range kept {
		checkRecording(t, filepath.Join(p.target, recDir(rec)), rec)
	}
	checkPruneAudit(t, p.target, "prune", old[1:])
	if r, v := p.verify(t, p.target); r.code != 0 || v.recordings != len(kept)+1 || v.signatures != "ok" {
		t.Errorf("verify after prune: want clean, %d recordings, signatures ok; got %+v\n%s", len(kept)+1, v, r)
	}
	// 31 days later the trash of the first prune is emptied; the release
	// lets the held recording go this time.
	if r := p.w.rcbs(t, "prune", "-config", cfg, "-release", held.ID); r.code != 0 {
		t.Fatalf("-release: %s", r)
	}
	later := when.Add(31 * day)
	r = p.prune(t, cfg, later)
	if r.code != 0 || !strings.Contains(r.stdout, "emptied: trash of "+when.Format("2006-01-02")) {
		t.Fatalf("prune 31 days later: %s", r)
	}
	if _, err := os.Stat(trash); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("trash of %s not emptied", when.Format("2006-01-02"))
	}
	checkPruneAudit(t, p.target, "empty-trash", old[1:])
	checkRecording(t, filepath.Join(p.target, ".rcbs", "trash", later.Format("2006-01-02"), recDir(held)), held)
}

// TestPruneDeleteAndAfterRun: pruneMode=delete leaves nothing behind, and
// pruneAfterRun prunes at the end of a successful run that does not fetch
// any of it again.
func TestPruneDeleteAndAfterRun(t *testing.T) {
	t.Parallel()
	p := newPruneWorld(t, 172)
	when := t0().Add(30 * day)
	old, kept := expired(p.recs, when.Add(-46*day))
	cfg := p.config(t, "pruneMode", "delete", "pruneAfterRun", "true")
	r := p.w.rcbs(t, "run", "-config", cfg, "-now", when.Format(time.RFC3339))
	if r.code != 0 || strings.Count(r.stdout, "pruned: recording ") != len(old) || parseSummary(t, r).downloaded != 0 {
		t.Fatalf("run with pruneAfterRun: want %d pruned, nothing downloaded; got %s", len(old), r)
	}
	checkTree(t, p.target, treeWant{recs: kept, state: when})
	if entries, _ := os.ReadDir(filepath.Join(p.target, ".rcbs", "trash")); len(entries) != 0 {
		t.Errorf("delete mode left %d entries in the trash", len(entries))
	}
	checkPruneAudit(t, p.target, "delete", old)
	if r, v := p.verify(t, p.target); r.code != 0 || v.recordings != len(kept) {
		t.Errorf("verify after delete: %+v\n%s", v, r)
	}
	// The window guard: a retention inside maxAge + overlap is refused.
	bad := p.config(t, "retentionDays", "45")
	if r := p.prune(t, bad, when); r.code != 2 || !strings.Contains(r.stderr, "config: retentionDays: must exceed the backup window") {
		t.Errorf("retentionDays=45 with maxAge=45: want exit 2; got %s", r)
	}
}

// pathSizes lists every path under root with its size.
func pathSizes(t *testing.T, root string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		out[path] = info.Size()
		return nil
	})
	return out
}

func maps2Equal(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkRecording: dir holds rec whole: its recording.json and every media
// file with the cloud's bytes.
func checkRecording(t *testing.T, dir string, rec cloudsim.Recording) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "recording.json")); err != nil {
		t.Errorf("recording %s: %v", rec.ID, err)
		return
	}
	for _, m := range rec.Media {
		checkFile(t, filepath.Join(dir, m.MediaID+".bin"), mediaChecker(m))
	}
}

// checkNoEmptyFolders: no folder from root/rel up to root is empty.
func checkNoEmptyFolders(t *testing.T, root, rel string) {
	t.Helper()
	for d := rel; d != "." && d != "/"; d = filepath.Dir(d) {
		entries, err := os.ReadDir(filepath.Join(root, d))
		if err == nil && len(entries) == 0 {
			t.Errorf("emptied folder %s left", d)
		}
	}
}

// checkAudit: the audit log has one line with action for each of recs.
func checkPruneAudit(t *testing.T, root, action string, recs []cloudsim.Recording) {
	t.Helper()
	f, err := os.Open(filepath.Join(root, ".rcbs", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line struct{ User, Action, RecordingID string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		if line.Action == action && line.User == "rcbs-prune" {
			seen[line.RecordingID]++
		}
	}
	for _, r := range recs {
		if seen[r.ID] != 1 {
			t.Errorf("audit: %d %s lines for %s, want 1", seen[r.ID], action, r.ID)
		}
	}
}

// Crash runs of prune: how many, the seed of the kill moments and the range.
const (
	pruneCrashes      = 20
	pruneCrashSeed    = 0x7263627370726e65 // "rcbsprne"
	pruneCrashRecords = 2000
)

// TestPruneCrashes: 20 prunes killed (SIGKILL) at random moments, half in
// trash mode and half in delete mode. After each, every recording is whole
// in place, whole in the trash, or gone, never half; a second prune then
// finishes the job and leaves no .deleting- folder. The test fails if no
// kill landed mid-prune.
func TestPruneCrashes(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(pruneCrashSeed, 0))
	t.Logf("kill moments: math/rand/v2 PCG(%#x, 0)", uint64(pruneCrashSeed))
	midPrune := 0
	for i := range pruneCrashes {
		mode := []string{"trash", "delete"}[i%2]
		target := filepath.Join(t.TempDir(), "target")
		recs := writeSyntheticArchive(t, target, pruneCrashRecords)
		cfg := syntheticConfig(t, target, "pruneMode", mode)
		delay := time.Duration(5+rng.IntN(300)) * time.Millisecond
		proc := start(t, inherited(), "prune", "-config", cfg, "-now", t0().Format(time.RFC3339))
		select {
		case <-proc.done:
		case <-time.After(delay):
			proc.cmd.Process.Signal(syscall.SIGKILL)
		}
		<-proc.done
		checkSignalled(t, proc, syscall.SIGKILL)
		placed, trashed, gone := checkWholeOrGone(t, target, recs)
		t.Logf("kill %2d (%s) after %v: %d in place, %d in trash, %d gone", i, mode, delay, placed, trashed, gone)
		if placed > 0 && placed < len(recs) {
			midPrune++
		}
		if r := start(t, inherited(), "prune", "-config", cfg, "-now", t0().Format(time.RFC3339)).wait(t); r.code != 0 {
			t.Fatalf("prune after the kill: %s", r)
		}
		placed, trashed, gone = checkWholeOrGone(t, target, recs)
		if placed != 0 || (mode == "trash" && trashed+gone != len(recs)) || (mode == "delete" && gone != len(recs)) {
			t.Errorf("after recovery (%s): %d in place, %d in trash, %d gone", mode, placed, trashed, gone)
		}
		if left, _ := filepath.Glob(filepath.Join(target, ".rcbs", "trash", ".deleting-*")); len(left) > 0 {
			t.Errorf("after recovery: %q left", left)
		}
		if t.Failed() {
			t.Fatalf("kill %d failed", i)
		}
	}
	if midPrune == 0 {
		t.Errorf("no kill of %d landed mid-prune: the test proves nothing", pruneCrashes)
	}
}

// synthetic is one recording written straight to disk for the crash test.
type synthetic struct {
	id, dir string
	media   []byte
}

// writeSyntheticArchive writes n recordings, all older than any retention
// the test uses (a year before t0), each a recording.json and a media file.
func writeSyntheticArchive(t *testing.T, root string, n int) []synthetic {
	t.Helper()
	recs := make([]synthetic, n)
	base := t0().AddDate(-1, 0, 0)
	for i := range recs {
		start := base.Add(time.Duration(i) * 7 * time.Minute)
		id := fmt.Sprintf("SYN%06d", i)
		r := synthetic{id: id, dir: filepath.Join(start.Format("2006/01/02/15"), id), media: []byte(strings.Repeat(id, 20))}
		dir := filepath.Join(root, r.dir)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, id+"_m.bin"), r.media)
		js := fmt.Sprintf(`{"id":%q,"startTime":%q,"mediaFiles":[{"mediaId":"%s_m","type":"audio/mp3","size":%d}]}`,
			id, start.Format(time.RFC3339), id, len(r.media))
		writeFile(t, filepath.Join(dir, "recording.json"), []byte(js))
		recs[i] = r
	}
	return recs
}

// syntheticConfig is a configuration for a prune of target: it contacts
// nothing, so the API prefix points nowhere.
func syntheticConfig(t *testing.T, target string, kv ...string) string {
	t.Helper()
	text := "gwsUriPrefix=http://127.0.0.1:9/api\ntargetDir=" + target + "\nmaxAge=2\nretentionDays=30\n"
	for i := 0; i+1 < len(kv); i += 2 {
		text += kv[i] + "=" + kv[i+1] + "\n"
	}
	path := filepath.Join(t.TempDir(), "config.properties")
	writeFile(t, path, []byte(text))
	return path
}

// checkWholeOrGone sorts each recording into whole in place, whole in the
// trash, or gone, and fails on anything else: a folder in place or in the
// trash that lacks a file or holds other bytes, or a recording in both.
func checkWholeOrGone(t *testing.T, root string, recs []synthetic) (placed, trashed, gone int) {
	t.Helper()
	trashDays, _ := filepath.Glob(filepath.Join(root, ".rcbs", "trash", "[0-9]*"))
	for _, r := range recs {
		where := []string{filepath.Join(root, r.dir)}
		for _, d := range trashDays {
			where = append(where, filepath.Join(d, r.dir))
		}
		found := 0
		for i, dir := range where {
			if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			found++
			if !wholeSynthetic(dir, r) {
				t.Errorf("recording %s is half there in %s", r.id, dir)
			}
			if i == 0 {
				placed++
			} else {
				trashed++
			}
		}
		switch found {
		case 0:
			gone++
		case 1:
		default:
			t.Errorf("recording %s is in %d places", r.id, found)
		}
	}
	return placed, trashed, gone
}

func wholeSynthetic(dir string, r synthetic) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{r.id + "_m.bin", "recording.json"}) {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, r.id+"_m.bin"))
	return err == nil && string(b) == string(r.media)
}

//go:build unix

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
	"github.com/rcbs/rcbs/cloudsim/s3test"
)

const (
	hour = time.Hour
	day  = 24 * time.Hour
)

// relative are the config keys that turn the cloud's fixed window
// (maxDate/minDate) into a cron window of maxAge days before -now.
func relative(maxAgeDays int, kv ...string) []string {
	return append([]string{"maxDate", "", "minDate", "", "maxAge", strconv.Itoa(maxAgeDays)}, kv...)
}

// Journey 1: cron runs twice; the second fetches nothing; new calls arrive
// and a later run fetches only them.
func TestJourneyCron(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 30, Seed: 1, Start: t0().Add(-2 * day), End: t0()})
	metrics := filepath.Join(t.TempDir(), "rcbs.prom")
	cronJourney(t, w, filepath.Join(t.TempDir(), "target"), "metricsFile", metrics)
	m := readMetrics(t, metrics) // of the last run, which fetched the 5 new calls
	if m["rcbs_recordings_downloaded"] != "5" || m["rcbs_recordings_failed"] != "0" ||
		m["rcbs_last_success_timestamp_seconds"] == "" || m["rcbs_last_run_timestamp_seconds"] == "" {
		t.Errorf("metrics %v, want downloaded 5, failed 0 and both timestamps", m)
	}
}

// cronJourney is journey 1 against w, with extra config keys; the real S3
// journey runs it too.
func cronJourney(t *testing.T, w *world, target string, kv ...string) {
	t.Helper()
	cfg := w.writeConfig(t, target, relative(2, kv...)...)
	all := w.cloud.Recordings()

	s := w.run(t, cfg, t0())
	checkWindow(t, s, t0().Add(-2*day), t0())
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), downloaded: len(all)})
	if want := diskBytes(t, target, all); s.bytes != want {
		t.Errorf("first run: summary bytes %d, want %d (media and recording.json on disk)", s.bytes, want)
	}
	checkTree(t, target, treeWant{recs: all, state: t0()})

	// The second run is the bare form `rcbs --config F`, as cron calls it.
	gets := w.cloud.Stats().S3Get
	r := w.rcbs(t, "--config", cfg, "-now", t0().Format(time.RFC3339))
	if r.code != 0 {
		t.Fatalf("second run: want exit 0, got %s", r)
	}
	s = parseSummary(t, r)
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), skipped: len(all)})
	if s.bytes != 0 {
		t.Errorf("second run: summary bytes %d, want 0", s.bytes)
	}
	if n := w.cloud.Stats().S3Get - gets; n != 0 {
		t.Errorf("second run: %d S3 GETs, want none (everything is on disk)", n)
	}
	checkTree(t, target, treeWant{recs: all, state: t0()})

	later := t0().Add(2 * hour)
	if err := w.cloud.Add(5, t0(), t0().Add(hour)); err != nil {
		t.Fatal(err)
	}
	all = w.cloud.Recordings()
	fresh := inWindow(all, t0(), later)
	listed := inWindow(all, later.Add(-2*day), later)
	s = w.run(t, cfg, later)
	checkWindow(t, s, later.Add(-2*day), later)
	checkCounts(t, s, counts{shards: 2, listed: len(listed), mine: len(listed), downloaded: len(fresh), skipped: len(listed) - len(fresh)})
	if want := diskBytes(t, target, fresh); s.bytes != want {
		t.Errorf("third run: summary bytes %d, want %d (the new recordings)", s.bytes, want)
	}
	checkTree(t, target, treeWant{recs: all, state: later})
}

// Journey 2: the server was off for three days; the next run reaches back to
// the state file minus overlap, skipping what the overlap finds on disk.
func TestJourneyRecovery(t *testing.T) {
	t.Parallel()
	last := t0().Add(-3 * day)
	w := newWorld(t, cloudsim.Options{Recordings: 30, Seed: 2, Start: t0().Add(-5 * day), End: t0()})
	if err := w.cloud.Add(4, last.Add(-6*hour), last); err != nil { // certainly some in the overlap
		t.Fatal(err)
	}
	all := w.cloud.Recordings()
	target := filepath.Join(t.TempDir(), "target")

	// The last run before the outage, three days ago.
	before := w.writeConfig(t, target, relative(2)...)
	p := w.plan(t, before, last)
	if p.Recovered || p.StateFile != filepath.Join(target, stateFile) {
		t.Errorf("plan before the first run: recovered %v stateFile %q, want false and %q", p.Recovered, p.StateFile, filepath.Join(target, stateFile))
	}
	w.run(t, before, last)
	checkTree(t, target, treeWant{recs: inWindow(all, last.Add(-2*day), last), state: last})

	cfg := w.writeConfig(t, target, relative(1)...)
	p = w.plan(t, cfg, t0())
	start := last.Add(-6 * hour)
	wantShards := [][2]time.Time{
		{start, start.Add(day)}, {start.Add(day), start.Add(2 * day)},
		{start.Add(2 * day), start.Add(3 * day)}, {start.Add(3 * day), t0()},
	}
	checkPlan(t, p, start, t0(), wantShards)
	if !p.Recovered || p.StateFile != filepath.Join(target, stateFile) {
		t.Errorf("plan: recovered %v stateFile %q, want true and %q", p.Recovered, p.StateFile, filepath.Join(target, stateFile))
	}

	overlap, gap := inWindow(all, start, last), inWindow(all, last, t0())
	s := w.run(t, cfg, t0())
	checkWindow(t, s, start, t0())
	n := len(overlap) + len(gap)
	checkCounts(t, s, counts{shards: 4, listed: n, mine: n, downloaded: len(gap), skipped: len(overlap)})
	checkTree(t, target, treeWant{recs: all, state: t0()})
}

func checkPlan(t *testing.T, p planOut, start, end time.Time, shards [][2]time.Time) {
	t.Helper()
	if p.Start != stamp(start) || p.End != stamp(end) {
		t.Errorf("plan window %s..%s, want %s..%s", p.Start, p.End, stamp(start), stamp(end))
	}
	var got, want []string
	for _, s := range p.Shards {
		got = append(got, s.Start+".."+s.End)
	}
	for _, s := range shards {
		want = append(want, stamp(s[0])+".."+stamp(s[1]))
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan shards\n got %q\nwant %q", got, want)
	}
}

// Journey 3: a one-off export of an old period (maxDate/minDate as an
// admin writes them) leaves the regular runs' state file alone.
func TestJourneyOneOffExport(t *testing.T) {
	t.Parallel()
	oldStart, oldEnd := t0().Add(-10*day), t0().Add(-8*day)
	w := newWorld(t, cloudsim.Options{Recordings: 20, Seed: 3, Start: oldStart, End: oldEnd})
	if err := w.cloud.Add(10, t0().Add(-2*day), t0()); err != nil { // recent calls: not exported
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	if err := os.MkdirAll(target, 0o700); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(target, stateFile)
	stateLine := []byte(strconv.FormatInt(t0().UnixMilli(), 10) + "\n")
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.WriteFile(statePath, stateLine, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(statePath, mtime, mtime); err != nil {
		t.Fatal(err)
	}

	cfg := w.writeConfig(t, target, "maxDate", oldStart.Format(time.DateOnly), "minDate", oldEnd.Format(time.DateOnly))
	p := w.plan(t, cfg, t0())
	checkPlan(t, p, oldStart, oldEnd, [][2]time.Time{{oldStart, oldStart.Add(day)}, {oldStart.Add(day), oldEnd}})
	if p.Recovered {
		t.Error("plan: recovered true, want false (maxDate overrides the state file)")
	}
	exported := inWindow(w.cloud.Recordings(), oldStart, oldEnd)
	s := w.run(t, cfg, t0())
	checkWindow(t, s, oldStart, oldEnd)
	checkCounts(t, s, counts{shards: 2, listed: len(exported), mine: len(exported), downloaded: len(exported)})
	checkTree(t, target, treeWant{recs: exported, state: t0()})
	fi, err := os.Stat(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("state file rewritten: mtime %v, want %v untouched", fi.ModTime().UTC(), mtime)
	}
}

// fnvInstance is spec §5's owner of a recording, computed here
// independently of rcbs's sharding package.
func fnvInstance(id string, total int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % uint32(total))
}

// Journey 4: four instances on four targetDirs split the recordings
// exactly; a Kubernetes Indexed Job gives the index in the environment.
func TestJourneyInstances(t *testing.T) {
	t.Parallel()
	const total = 4
	w := newWorld(t, cloudsim.Options{Recordings: 48, Seed: 4, Start: t0().Add(-day), End: t0()})
	all := w.cloud.Recordings()
	owner := map[string]int{} // from the trees on disk
	for i := range total {
		target := filepath.Join(t.TempDir(), fmt.Sprintf("target%d", i))
		cfg := w.writeConfig(t, target, relative(1, "totalRcbsInstances", "4", "rcbsInstanceId", strconv.Itoa(i))...)
		mine := ownedBy(all, i, total)
		if len(mine) == 0 {
			t.Fatalf("seed gives instance %d no recording: the journey proves nothing", i)
		}
		s := w.run(t, cfg, t0())
		checkCounts(t, s, counts{shards: 1, listed: len(all), mine: len(mine), downloaded: len(mine)})
		checkTree(t, target, treeWant{recs: mine, state: t0()})
		for _, id := range recordingIDs(t, target) {
			if prev, dup := owner[id]; dup {
				t.Errorf("recording %s backed up by instances %d and %d", id, prev, i)
			}
			owner[id] = i
			if want := fnvInstance(id, total); want != i {
				t.Errorf("recording %s on instance %d, fnv1a32 %% 4 = %d", id, i, want)
			}
		}
	}
	for _, r := range all {
		if _, ok := owner[r.ID]; !ok {
			t.Errorf("recording %s backed up by no instance", r.ID)
		}
	}

	// Indexed Job: totalRcbsInstances alone, the index in JOB_COMPLETION_INDEX.
	target := filepath.Join(t.TempDir(), "job")
	cfg := w.writeConfig(t, target, relative(1, "totalRcbsInstances", "4")...)
	w.env = append(w.env, "JOB_COMPLETION_INDEX=2")
	if p := w.plan(t, cfg, t0()); p.Instance != 2 || p.Instances != total {
		t.Errorf("plan with JOB_COMPLETION_INDEX=2: instance %d of %d, want 2 of 4", p.Instance, p.Instances)
	}
	w.run(t, cfg, t0())
	checkTree(t, target, treeWant{recs: ownedBy(all, 2, total), state: t0()})
}

func ownedBy(recs []cloudsim.Recording, i, total int) []cloudsim.Recording {
	var out []cloudsim.Recording
	for _, r := range recs {
		if fnvInstance(r.ID, total) == i {
			out = append(out, r)
		}
	}
	return out
}

// recordingIDs lists the recordings complete on disk: the folders that hold
// a recording.json.
func recordingIDs(t *testing.T, target string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(target, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "recording.json" {
			out = append(out, filepath.Base(filepath.Dir(path)))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Journey 5: only one rcbs per targetDir; a second exits 3 at once and
// names the holder's pid.
func TestJourneyLock(t *testing.T) {
	t.Parallel()
	t.Run("held by another process", func(t *testing.T) {
		w := newWorld(t, cloudsim.Options{Recordings: 10, Seed: 5, Start: t0().Add(-day), End: t0()})
		target := filepath.Join(t.TempDir(), "target")
		if err := os.MkdirAll(target, 0o700); err != nil {
			t.Fatal(err)
		}
		unlock := holdLock(t, filepath.Join(target, lockFile))
		cfg := w.writeConfig(t, target, relative(1)...)
		r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
		checkLocked(t, r, target, os.Getpid())
		if st := w.cloud.Stats(); st.Listings != 0 || st.S3Get != 0 {
			t.Errorf("a locked-out run listed %d times and fetched %d objects, want nothing", st.Listings, st.S3Get)
		}
		if _, err := os.Stat(filepath.Join(target, stateFile)); !os.IsNotExist(err) {
			t.Errorf("a locked-out run touched the state file: %v", err)
		}
		unlock()
		w.run(t, cfg, t0())
		checkTree(t, target, treeWant{recs: w.cloud.Recordings(), state: t0()})
	})
	t.Run("held by a running rcbs", func(t *testing.T) {
		w := newWorld(t, cloudsim.Options{Recordings: 24, Seed: 5, Start: t0().Add(-day), End: t0(),
			S3Faults: cloudsim.Faults{Latency: 300 * time.Millisecond}})
		target := filepath.Join(t.TempDir(), "target")
		cfg := w.writeConfig(t, target, relative(1)...)
		first := start(t, w.env, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
		pid := first.cmd.Process.Pid
		waitFor(t, first, "the first run to take the lock", func() bool {
			b, err := os.ReadFile(filepath.Join(target, lockFile))
			return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid)
		})
		r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
		checkLocked(t, r, target, pid)
		select {
		case <-first.done:
			t.Error("the first run ended before the second gave up: the second waited for the lock")
		default:
		}
		if r := first.wait(t); r.code != 0 {
			t.Fatalf("first run: want exit 0, got %s", r)
		}
		checkTree(t, target, treeWant{recs: w.cloud.Recordings(), state: t0()})
	})
}

// holdLock takes the lock as another rcbs would: the file holds our pid,
// flocked exclusively. The returned func releases it.
func holdLock(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(strconv.Itoa(os.Getpid()) + "\n"); err != nil {
		t.Fatal(err)
	}
	release := func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
	t.Cleanup(release)
	return release
}

func checkLocked(t *testing.T, r result, target string, pid int) {
	t.Helper()
	want := fmt.Sprintf("targetDir %s is in use by another rcbs (pid %d)", target, pid)
	if r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Errorf("want exit 3 and %q on stderr, got %s", want, r)
	}
}

// waitFor polls cond until it holds; p ending first fails the test.
func waitFor(t *testing.T, p *proc, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-p.done:
			t.Fatalf("rcbs ended before %s: %s", what, p.wait(t))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Journey 6: a legacy server caps every query at 100 results and ignores
// offset; 1,000 recordings in one shard must all arrive.
func TestJourneyLegacyCap(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 1000, Seed: 6, Start: t0().Add(-day), End: t0(), LegacyCap: true})
	all := w.cloud.Recordings()
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(1, "numThreads", "8")...)
	s := w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: 1, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: all, state: t0()})
	if n := w.cloud.Stats().Listings; n < int64(len(all)/100) {
		t.Errorf("%d listings: cannot have seen %d recordings 100 at a time", n, len(all))
	}
}

// Journey 7: metadataOnly needs no S3 credentials at all.
func TestJourneyMetadataOnly(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 20, Seed: 7, Start: t0().Add(-2 * day), End: t0()})
	var env []string
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	w.env = append(env, "HOME="+t.TempDir()) // no ~/.aws either
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(2, "metadataOnly", "true", "logFormat", "json")...)
	all := w.cloud.Recordings()
	r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	if r.code != 0 {
		t.Fatalf("want exit 0, got %s", r)
	}
	if r.stderr == "" {
		t.Error("logFormat=json: no progress line on stderr, want one per 10%")
	}
	for line := range strings.Lines(r.stderr) {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Errorf("logFormat=json: stderr line %q is not a JSON object: %v", line, err)
		}
	}
	s := parseSummary(t, r)
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: all, state: t0(), metadataOnly: true})
	if st := w.cloud.Stats(); st.S3Get+st.S3Head+st.S3Other != 0 {
		t.Errorf("metadataOnly run made %d S3 requests, want none", st.S3Get+st.S3Head+st.S3Other)
	}
}

// Journey 8: both proxies are really used, for every request.
func TestJourneyProxies(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 20, Seed: 8, Start: t0().Add(-2 * day), End: t0(), APIMediaShare: 0.25})
	gws, aws := startProxy(t), startProxy(t)
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(2,
		"gwsProxyHost", "http://127.0.0.1", "gwsProxyPort", gws.port(),
		"awsProxyHost", "127.0.0.1", "awsProxyPort", aws.port())...)
	w.run(t, cfg, t0())
	checkTree(t, target, treeWant{recs: w.cloud.Recordings(), state: t0()})

	st := w.cloud.Stats()
	apiHost, s3Host := hostOf(t, w.cloud.APIURL()), hostOf(t, w.cloud.S3URL())
	checkProxied(t, "recordings API", gws.seen(), apiHost, st.Settings+st.Listings+st.Media)
	checkProxied(t, "S3", aws.seen(), s3Host, st.S3Get+st.S3Head+st.S3Other)
}

// checkProxied: the proxy saw only host, and at least as many requests as
// the server answered (the test sends none itself, so any fewer went
// around the proxy).
func checkProxied(t *testing.T, what string, seen map[string]int64, host string, answered int64) {
	t.Helper()
	if answered == 0 {
		t.Errorf("%s answered no request", what)
	}
	for h, n := range seen {
		if h != host {
			t.Errorf("%s proxy forwarded %d requests to %s, want only %s", what, n, h, host)
		}
	}
	if seen[host] < answered {
		t.Errorf("%s proxy forwarded %d requests, the server answered %d: some went around it", what, seen[host], answered)
	}
}

// Journey 9: SIGINT (or SIGTERM) mid-run leaves no partial or temporary
// file and a consistent state; the next run completes.
func TestJourneyInterrupted(t *testing.T) {
	t.Parallel()
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			interruptJourney(t, sig)
		})
	}
}

// startSlowRun starts a run against a cloud of n recordings whose S3
// answers slowly, and returns once the first recording is complete on
// disk: a run caught mid-flight, for the interrupt and kill journeys.
func startSlowRun(t *testing.T, n int, seed int64) (w *world, all []cloudsim.Recording, target, cfg string, p *proc) {
	w = newWorld(t, cloudsim.Options{Recordings: n, Seed: seed, Start: t0().Add(-2 * day), End: t0(),
		S3Faults: cloudsim.Faults{Latency: 300 * time.Millisecond}})
	all = w.cloud.Recordings()
	target = filepath.Join(t.TempDir(), "target")
	cfg = w.writeConfig(t, target, relative(2)...)
	p = start(t, w.env, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	waitFor(t, p, "the first recording was complete", func() bool {
		ids, _ := filepath.Glob(filepath.Join(target, "*/*/*/*/*/recording.json"))
		return len(ids) > 0
	})
	return w, all, target, cfg, p
}

func interruptJourney(t *testing.T, sig os.Signal) {
	w, all, target, cfg, p := startSlowRun(t, 30, 9)
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	r := p.wait(t)
	w.checkNoSecrets(t, r)
	if r.code != 130 {
		t.Fatalf("want exit 130 after %v, got %s", sig, r)
	}
	done := checkPartialTree(t, target, all)
	if done == len(all) {
		t.Fatalf("all %d recordings finished before %v: the journey proves nothing", done, sig)
	}
	t.Logf("interrupted run: %d of %d recordings complete", done, len(all))

	s := w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), downloaded: len(all) - done, skipped: done})
	checkTree(t, target, treeWant{recs: all, state: t0()})
}

// checkPartialTree checks an interrupted run's tree: no temporary file,
// every file under a final name complete, every recording with a
// recording.json complete, and a state file (if any) that only covers
// complete recordings. It returns how many recordings are complete.
func checkPartialTree(t *testing.T, target string, all []cloudsim.Recording) int {
	t.Helper()
	n, _ := checkCrashedTree(t, target, all, false)
	return n
}

// checkCrashedTree is checkPartialTree for a run killed with SIGKILL when
// tempsOK: its temporary files may remain (the next run removes them), and
// are returned.
func checkCrashedTree(t *testing.T, target string, all []cloudsim.Recording, tempsOK bool) (complete int, temps []string) {
	t.Helper()
	if _, err := os.Lstat(target); errors.Is(err, fs.ErrNotExist) {
		return 0, nil // killed before it made targetDir (a slow start: -race): nothing written
	}
	files, _, temps := walkTemps(t, target, tempsOK)
	byPath := map[string]func([]byte) string{}
	for _, r := range all {
		byPath[filepath.Join(recDir(r), "recording.json")] = jsonChecker(r.JSON)
		for _, m := range r.Media {
			byPath[filepath.Join(recDir(r), m.MediaID+".bin")] = mediaChecker(m)
		}
	}
	for path := range files {
		if path == lockFile || path == stateFile {
			continue
		}
		check, ok := byPath[path]
		if !ok {
			t.Errorf("%s: unexpected file", path)
			continue
		}
		b, err := os.ReadFile(filepath.Join(target, path))
		if err != nil {
			t.Fatal(err)
		}
		if problem := check(b); problem != "" {
			t.Errorf("%s: partial or wrong file under its final name: %s", path, problem)
		}
	}
	state := stateValue(t, target)
	for _, r := range all {
		_, hasJSON := files[filepath.Join(recDir(r), "recording.json")]
		media := 0
		for _, m := range r.Media {
			if _, ok := files[filepath.Join(recDir(r), m.MediaID+".bin")]; ok {
				media++
			}
		}
		if hasJSON {
			complete++
			if media != len(r.Media) {
				t.Errorf("%s: recording.json written before its media (%d of %d)", r.ID, media, len(r.Media))
			}
		} else if r.StartTime.Before(state) {
			t.Errorf("state file at %s, but %s (start %s) is incomplete", stamp(state), r.ID, stamp(r.StartTime))
		}
	}
	return complete, temps
}

// stateValue reads the state file; zero when there is none. Its content
// must be exactly spec §6's: 13 digits and a newline.
func stateValue(t *testing.T, target string) time.Time {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(target, stateFile))
	if os.IsNotExist(err) {
		return time.Time{}
	}
	if err != nil {
		t.Fatal(err)
	}
	if !stateLineRE.Match(b) {
		t.Fatalf("state file %q: want 13 digits and a newline", b)
	}
	ms, _ := strconv.ParseInt(string(b[:13]), 10, 64) // 13 digits: cannot fail
	return time.UnixMilli(ms).UTC()
}

var stateLineRE = regexp.MustCompile(`\A[0-9]{13}\n\z`)

// Journey 10: a real S3 server (versitygw, which checks SigV4 signatures):
// the cron journey with and without payload signing, and a wrong secret.
func TestJourneyRealS3(t *testing.T) {
	t.Parallel()
	endpoint, access, secret := s3test.StartVersityGW(t)
	w := newWorld(t, cloudsim.Options{Recordings: 20, Seed: 10, Start: t0().Add(-2 * day), End: t0()})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.cloud.UploadTo(ctx, endpoint, access, secret); err != nil {
		t.Fatalf("upload to versitygw: %v", err)
	}
	w.env = append(inherited(), w.cloud.Env()...) // versitygw's keys now
	if w.cloud.S3URL() != endpoint {
		t.Fatalf("cloud S3URL %s after UploadTo, want %s", w.cloud.S3URL(), endpoint)
	}

	t.Run("unsigned payload", func(t *testing.T) {
		cronJourney(t, w, filepath.Join(t.TempDir(), "target"), "usePayloadSigning", "false")
	})
	t.Run("signed payload", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "target")
		cfg := w.writeConfig(t, target, relative(3, "usePayloadSigning", "true")...)
		now := t0().Add(2 * hour) // after the calls the cron journey added
		all := w.cloud.Recordings()
		s := w.run(t, cfg, now)
		checkCounts(t, s, counts{shards: 3, listed: len(all), mine: len(all), downloaded: len(all)})
		checkTree(t, target, treeWant{recs: all, state: now})
	})
	if st := w.cloud.Stats(); st.S3Get != 0 {
		t.Errorf("%d GETs reached the in-process S3: the media must come from versitygw", st.S3Get)
	}
	t.Run("wrong secret", func(t *testing.T) {
		target := filepath.Join(t.TempDir(), "target")
		cfg := w.writeConfig(t, target, relative(2)...)
		const wrong = "wrong-secret-NEVER-SHOWN-0123456789"
		w := &world{cloud: w.cloud, env: append(slices.Clone(w.env), "AWS_SECRET_ACCESS_KEY="+wrong)}
		r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
		if r.code != 1 {
			t.Errorf("want exit 1, got %s", r)
		}
		if !regexp.MustCompile(`, failed [1-9][0-9]*, `).MatchString(r.stdout) {
			t.Errorf("the summary does not count the refused recording as failed: %s", r)
		}
		if !strings.Contains(r.stderr, access) {
			t.Errorf("stderr does not name the access key id %q: %s", access, r)
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("output shows the real secret: %s", r)
		}
		if _, err := os.Stat(filepath.Join(target, stateFile)); !os.IsNotExist(err) {
			t.Errorf("a run whose every download failed wrote the state file (%v)", err)
		}
		if bins, _ := filepath.Glob(filepath.Join(target, "*/*/*/*/*/*.bin")); len(bins) != 0 {
			t.Errorf("media written with a wrong secret: %q", bins)
		}
	})
}

// Journey 11: decrypt a backed-up tree to another folder, byte-identical to
// openssl.
func TestJourneyDecrypt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 20, Seed: 11, Start: t0().Add(-2 * day), End: t0()})
	all := w.cloud.Recordings()
	target := filepath.Join(t.TempDir(), "target")
	w.run(t, w.writeConfig(t, target, relative(2)...), t0())
	keyPath, _, err := w.cloud.WriteKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "plain")
	r := w.rcbs(t, "decrypt", "-key", keyPath, "-out", out, target)
	if r.code != 0 {
		t.Fatalf("decrypt: want exit 0, got %s", r)
	}
	checkPlainTree(t, target, out, all)

	rec := all[0]
	bin := filepath.Join(target, recDir(rec), rec.Media[0].MediaID+".bin")
	viaOpenSSL := filepath.Join(t.TempDir(), "openssl.out")
	cmd := exec.Command("openssl", "cms", "-decrypt", "-inform", "DER", "-binary", "-inkey", keyPath, "-in", bin, "-out", viaOpenSSL)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -decrypt: %v\n%s", err, b)
	}
	want, err := os.ReadFile(viaOpenSSL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, recDir(rec), rec.Media[0].MediaID))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("rcbs decrypt and openssl cms -decrypt differ for %s (%d vs %d bytes)", bin, len(got), len(want))
	}
}

// checkPlainTree: out holds exactly each recording's recording.json (as
// backed up) and each media's plaintext.
func checkPlainTree(t *testing.T, target, out string, recs []cloudsim.Recording) {
	t.Helper()
	files, _ := walk(t, out)
	want := map[string][32]byte{}
	for _, r := range recs {
		b, err := os.ReadFile(filepath.Join(target, recDir(r), "recording.json"))
		if err != nil {
			t.Fatal(err)
		}
		want[filepath.Join(recDir(r), "recording.json")] = sha256.Sum256(b)
		for _, m := range r.Media {
			want[filepath.Join(recDir(r), m.MediaID)] = m.PlainSHA256
		}
	}
	for path, sum := range want {
		b, err := os.ReadFile(filepath.Join(out, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if sha256.Sum256(b) != sum {
			t.Errorf("%s: sha256 differs from the plaintext's (or the backed-up recording.json's)", path)
		}
	}
	for path := range files {
		if _, ok := want[path]; !ok {
			t.Errorf("decrypt -out: unexpected file %s", path)
		}
	}
}

// Journey 12: -dry-run lists what a run would fetch and writes nothing.
func TestJourneyDryRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 20, Seed: 12, Start: t0().Add(-2 * day), End: t0()})
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(2)...)
	first := w.cloud.Recordings()

	r := w.dryRun(t, cfg, t0())
	checkListed(t, r, ids(first), nil)
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("dry run created targetDir (%v)", err)
	}
	if st := w.cloud.Stats(); st.S3Get != 0 {
		t.Errorf("dry run fetched %d objects", st.S3Get)
	}

	w.run(t, cfg, t0())
	if err := w.cloud.Add(5, t0(), t0().Add(hour)); err != nil {
		t.Fatal(err)
	}
	fresh := inWindow(w.cloud.Recordings(), t0(), t0().Add(2*hour))
	before, gets := snapshot(t, target), w.cloud.Stats().S3Get
	r = w.dryRun(t, cfg, t0().Add(2*hour))
	checkListed(t, r, ids(fresh), ids(first))
	if after := snapshot(t, target); !slices.Equal(before, after) {
		t.Errorf("dry run changed the tree:\nbefore %q\n after %q", before, after)
	}
	if n := w.cloud.Stats().S3Get - gets; n != 0 {
		t.Errorf("dry run fetched %d objects", n)
	}
}

func (w *world) dryRun(t *testing.T, cfg string, now time.Time) result {
	t.Helper()
	r := w.rcbs(t, "run", "-config", cfg, "-dry-run", "-now", now.Format(time.RFC3339))
	if r.code != 0 {
		t.Fatalf("dry run: want exit 0, got %s", r)
	}
	checkQuietStderr(t, r)
	return r
}

// checkListed: stdout names every ID of want and none of absent.
func checkListed(t *testing.T, r result, want, absent []string) {
	t.Helper()
	for _, id := range want {
		if !strings.Contains(r.stdout, id) {
			t.Errorf("dry run does not list %s", id)
		}
	}
	for _, id := range absent {
		if strings.Contains(r.stdout, id) {
			t.Errorf("dry run lists %s, which is already on disk", id)
		}
	}
}

// Journey 13 (the manual's first steps): `rcbs simulate` as a server
// process, then exactly what it prints — `. env.sh && rcbs -config
// config.properties` in a shell — then decrypt with the key it wrote. The
// expected recordings come from an unstarted cloud of the same seed and
// window: IDs, metadata, sizes and plaintexts repeat for a seed.
func TestJourneySimulateProcess(t *testing.T) {
	t.Parallel()
	opts := cloudsim.Options{Recordings: 20, Seed: 13, Start: t0().Add(-2 * day), End: t0()}
	twin, err := cloudsim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer twin.Close()
	all := twin.Recordings()

	dir := filepath.Join(t.TempDir(), "sim")
	sim := start(t, inherited(), "simulate", "-listen", "127.0.0.1:0", "-dir", dir, "-recordings", "20", "-seed", "13",
		"-start", opts.Start.Format(time.RFC3339), "-end", opts.End.Format(time.RFC3339))
	waitFor(t, sim, "simulate was serving", func() bool { return strings.Contains(sim.stdout.String(), "serving until Ctrl-C") })

	cfg, envSh := filepath.Join(dir, "config.properties"), filepath.Join(dir, "env.sh")
	sh := exec.Command("sh", "-c", `. "$1" && exec "$2" -config "$3"`, "sh", envSh, rcbsBin, cfg)
	sh.Env = inherited()
	var stdout, stderr bytes.Buffer
	sh.Stdout, sh.Stderr = &stdout, &stderr
	if err := sh.Run(); err != nil {
		t.Fatalf(". env.sh && rcbs -config config.properties: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	r := result{args: []string{"-config", cfg}, stdout: stdout.String(), stderr: stderr.String()}
	checkQuietStderr(t, r)
	s := parseSummary(t, r)
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), downloaded: len(all)})
	checkSimTree(t, filepath.Join(dir, "target"), all)

	out := filepath.Join(t.TempDir(), "plain")
	w := &world{env: inherited()}
	if r := w.rcbs(t, "decrypt", "-key", filepath.Join(dir, cloudsim.KeyFileName), "-out", out, filepath.Join(dir, "target")); r.code != 0 {
		t.Fatalf("decrypt: want exit 0, got %s", r)
	}
	checkPlainTree(t, filepath.Join(dir, "target"), out, all)

	if err := sim.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if r := sim.wait(t); r.code != 0 {
		t.Errorf("simulate stopped by Ctrl-C: want exit 0, got %s", r)
	}
}

// checkSimTree is checkTree for a cloud in another process: the stored
// bytes of encrypted media differ from the twin's (random RSA padding), so
// media are checked by size here and by plaintext after decrypt.
func checkSimTree(t *testing.T, target string, recs []cloudsim.Recording) {
	t.Helper()
	files, _ := walk(t, target)
	// simulate's config is a fixed window (maxDate/minDate): a one-off run,
	// which writes no state file (spec §4).
	want := map[string]func([]byte) string{}
	for _, r := range recs {
		want[filepath.Join(recDir(r), "recording.json")] = jsonChecker(r.JSON)
		for _, m := range r.Media {
			want[filepath.Join(recDir(r), m.MediaID+".bin")] = func(b []byte) string {
				if int64(len(b)) != m.Size {
					return fmt.Sprintf("size %d, want %d", len(b), m.Size)
				}
				return ""
			}
		}
	}
	for path := range want {
		if _, ok := files[path]; !ok {
			t.Errorf("%s: missing", path)
		}
	}
	for path := range files {
		check, ok := want[path]
		if !ok && path != lockFile {
			t.Errorf("%s: unexpected file", path)
		}
		if check == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(target, path))
		if err != nil {
			t.Fatal(err)
		}
		if problem := check(b); problem != "" {
			t.Errorf("%s: %s", path, problem)
		}
	}
}

// Journey 14: a kill -9 mid-run. The OS releases the lock, and the next
// run removes stale temporary files and completes everything.
func TestJourneyKilled(t *testing.T) {
	t.Parallel()
	w, all, target, cfg, p := startSlowRun(t, 24, 14)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done

	// Leftovers of a crash long ago: whatever the kill left, and two more.
	planted := []string{
		filepath.Join(target, tempPfx+"planted-top"),
		filepath.Join(target, recDir(all[len(all)-1]), tempPfx+"planted-deep"),
	}
	for _, path := range planted {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), downloaded: s.downloaded, skipped: len(all) - s.downloaded})
	checkTree(t, target, treeWant{recs: all, state: t0()})
}

// Journey 15: recordings that cannot be fetched (a fault that never
// clears: an S3 object in the second shard, an API-served media file in
// the third) fail the run (exit 1, both named), hold the state file at the
// end of the first shard, do not stop the others, leave no partial file,
// and are tried again by the next run; once the fault clears, a run
// completes them and the state reaches the window's end. The metrics file
// says so each time. The faults are injected by the proxies, which the
// test can clear.
func TestJourneyFailedRecording(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 30, Seed: 15, Start: t0().Add(-3 * day), End: t0(), APIMediaShare: 0.3})
	all := w.cloud.Recordings()
	badS3, s3Key := firstMedia(t, all, t0().Add(-2*day), t0().Add(-day), true)
	badAPI, apiMedia := firstMedia(t, all, t0().Add(-day), t0(), false)
	gws, aws := startProxy(t), startProxy(t)
	aws.block(s3Key)
	gws.block(apiMedia)
	target := filepath.Join(t.TempDir(), "target")
	metrics := filepath.Join(t.TempDir(), "rcbs.prom")
	cfg := w.writeConfig(t, target, relative(3, "retries", "2", "metricsFile", metrics,
		"gwsProxyHost", "http://127.0.0.1", "gwsProxyPort", gws.port(),
		"awsProxyHost", "127.0.0.1", "awsProxyPort", aws.port())...)

	for i, want := range []counts{
		{shards: 3, listed: len(all), mine: len(all), downloaded: len(all) - 2, failed: 2},
		{shards: 3, listed: len(all), mine: len(all), skipped: len(all) - 2, failed: 2},
	} {
		r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
		if r.code != 1 || !strings.Contains(r.stderr, badS3.ID) || !strings.Contains(r.stderr, badAPI.ID) {
			t.Fatalf("run %d: want exit 1 and stderr naming %s and %s, got %s", i+1, badS3.ID, badAPI.ID, r)
		}
		checkCounts(t, parseSummary(t, r), want)
		if n := checkPartialTree(t, target, all); n != len(all)-2 {
			t.Errorf("run %d: %d recordings complete, want all but %s and %s", i+1, n, badS3.ID, badAPI.ID)
		}
		if got := stateValue(t, target); !got.Equal(t0().Add(-2 * day)) {
			t.Errorf("run %d: state %s, want %s (the end of the first shard, the only one without a failure)", i+1, stamp(got), stamp(t0().Add(-2*day)))
		}
		m := readMetrics(t, metrics)
		if m["rcbs_recordings_failed"] != "2" || m["rcbs_recordings_downloaded"] != strconv.Itoa(want.downloaded) {
			t.Errorf("run %d: metrics %v, want failed 2, downloaded %d", i+1, m, want.downloaded)
		}
		if _, ok := m["rcbs_last_success_timestamp_seconds"]; ok {
			t.Errorf("run %d: metrics report a last success, but no run has succeeded", i+1)
		}
	}
	if aws.refused(s3Key) < 4 || gws.refused(apiMedia) < 4 {
		t.Fatalf("the proxies refused %d S3 and %d API requests, want at least retries × runs each: the faults were not in the way",
			aws.refused(s3Key), gws.refused(apiMedia))
	}

	aws.unblock()
	gws.unblock()
	s := w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: 3, listed: len(all), mine: len(all), downloaded: 2, skipped: len(all) - 2})
	checkTree(t, target, treeWant{recs: all, state: t0()})
	m := readMetrics(t, metrics)
	if m["rcbs_recordings_failed"] != "0" || m["rcbs_recordings_downloaded"] != "2" || m["rcbs_last_success_timestamp_seconds"] == "" {
		t.Errorf("after the fault cleared: metrics %v, want failed 0, downloaded 2 and a last success", m)
	}
}

// firstMedia finds the first recording starting in [start, end) with a
// media file in S3 (inS3) or served by the API, and returns it with what
// names that media in a request path: the S3 key or the mediaId.
func firstMedia(t *testing.T, recs []cloudsim.Recording, start, end time.Time, inS3 bool) (cloudsim.Recording, string) {
	t.Helper()
	for _, r := range inWindow(recs, start, end) {
		for _, m := range r.Media {
			switch {
			case inS3 && m.Key != "":
				return r, m.Key
			case !inS3 && m.Key == "":
				return r, m.MediaID
			}
		}
	}
	t.Fatalf("the seed gives no recording in %s..%s with media in S3=%v: the journey proves nothing", stamp(start), stamp(end), inS3)
	return cloudsim.Recording{}, ""
}

// readMetrics reads a Prometheus textfile of instance 0 into name → value;
// a series with more labels keeps them in its name, without the instance:
// rcbs_files_verified{method="none"}.
func readMetrics(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("metrics file: %v", err)
	}
	m := map[string]string{}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		series, value, _ := strings.Cut(strings.TrimSpace(line), " ")
		name, ok := strings.CutSuffix(series, `{instance="0"}`)
		if n, labels, more := strings.Cut(series, `{instance="0",`); more {
			name, ok = n+"{"+labels, true
		}
		if !ok {
			t.Errorf("metrics line %q: want the label instance=\"0\"", line)
		}
		m[name] = value
	}
	return m
}

// Journey 16: encryptionCertificate encrypts media that arrive in plain
// text (AES-256 here), openssl opens them, and the next run sees them as
// complete although their size differs from the metadata's.
func TestJourneyEncryptOnDownload(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 20, Seed: 16, Start: t0().Add(-2 * day), End: t0(), UnencryptedShare: 0.5})
	all := w.cloud.Recordings()
	keyPath, certPath, err := w.cloud.WriteKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	var plain *cloudsim.Media
	var plainRec cloudsim.Recording
	for _, r := range all {
		for i := range r.Media {
			if !r.Media[i].Encrypted && plain == nil {
				plain, plainRec = &r.Media[i], r
			}
		}
	}
	if plain == nil {
		t.Fatal("the seed gives no plaintext media: the journey proves nothing")
	}
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(2, "encryptionCertificate", certPath, "encryptionFormat", "AES-256")...)
	s := w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: all, state: t0(), toolEncrypted: true})

	s = w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: 2, listed: len(all), mine: len(all), skipped: len(all)})

	bin := filepath.Join(target, recDir(plainRec), plain.MediaID+".bin")
	info, err := exec.Command("openssl", "cms", "-cmsout", "-print", "-inform", "DER", "-in", bin).CombinedOutput()
	if err != nil || !strings.Contains(string(info), "aes-256-cbc") {
		t.Errorf("openssl cms -cmsout -print %s: %v, want aes-256-cbc in\n%s", bin, err, info)
	}
	got, err := exec.Command("openssl", "cms", "-decrypt", "-inform", "DER", "-binary", "-inkey", keyPath, "-in", bin).Output()
	if err != nil || sha256.Sum256(got) != plain.PlainSHA256 {
		t.Errorf("openssl cms -decrypt %s: %v, or the plaintext differs", bin, err)
	}
	out := filepath.Join(t.TempDir(), "plain")
	if r := w.rcbs(t, "decrypt", "-key", keyPath, "-out", out, target); r.code != 0 {
		t.Fatalf("decrypt: want exit 0, got %s", r)
	}
	checkPlainTree(t, target, out, all)
}

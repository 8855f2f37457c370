//go:build unix

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// Journey: the cron job and a one-off export share a targetDir (spec §4).
// The cron job runs; an admin exports a later period (two days ahead) into
// the same folder; a run with skipLastRecordingCheck=true comes and goes;
// the cron job runs again a day after the exported period. Only the cron
// job moves the state file, so its second run reaches back to where its
// first ended and every recording of every day is on disk.
func TestJourneyExportAheadKeepsState(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 40, Seed: 31, Start: t0().Add(-day), End: t0().Add(4 * day)})
	all := w.cloud.Recordings()
	for d := -1; d < 4; d++ {
		if len(inWindow(all, t0().Add(time.Duration(d)*day), t0().Add(time.Duration(d+1)*day))) == 0 {
			t.Fatalf("seed leaves day %d empty: the journey proves nothing", d)
		}
	}
	target := filepath.Join(t.TempDir(), "target")
	statePath := filepath.Join(target, stateFile)
	cron := w.writeConfig(t, target, relative(1)...)

	w.run(t, cron, t0())
	checkTree(t, target, treeWant{recs: inWindow(all, t0().Add(-day), t0()), state: t0()})
	kept, err := os.Stat(statePath)
	if err != nil {
		t.Fatal(err)
	}

	// The export of [t0+2d, t0+3d): it neither reads nor moves the state.
	from, to := t0().Add(2*day), t0().Add(3*day)
	export := w.writeConfig(t, target, "maxDate", strconv.FormatInt(from.UnixMilli(), 10), "minDate", strconv.FormatInt(to.UnixMilli(), 10))
	if p := w.plan(t, export, to); p.StateFile != "" || p.Recovered {
		t.Errorf("plan of the export: stateFile %q recovered %v, want \"\" and false (it does not use the state)", p.StateFile, p.Recovered)
	}
	s := w.run(t, export, to)
	exported := inWindow(all, from, to)
	checkCounts(t, s, counts{shards: 1, listed: len(exported), mine: len(exported), downloaded: len(exported)})
	checkStateKept(t, statePath, kept, "the export")

	// skipLastRecordingCheck=true: a window of its own, state untouched.
	skip := w.writeConfig(t, target, relative(1, "skipLastRecordingCheck", "true")...)
	if p := w.plan(t, skip, t0().Add(day)); p.StateFile != "" || p.Recovered {
		t.Errorf("plan with skipLastRecordingCheck: stateFile %q recovered %v, want \"\" and false", p.StateFile, p.Recovered)
	}
	w.run(t, skip, t0().Add(day))
	checkStateKept(t, statePath, kept, "the run with skipLastRecordingCheck=true")

	// The cron job, a day after the exported period: it recovers from t0.
	later := to.Add(day)
	p := w.plan(t, cron, later)
	if !p.Recovered || p.StateFile != statePath || p.Start != stamp(t0().Add(-6*hour)) {
		t.Errorf("plan of the cron job: start %s recovered %v stateFile %q, want %s, true and %q",
			p.Start, p.Recovered, p.StateFile, stamp(t0().Add(-6*hour)), statePath)
	}
	s = w.run(t, cron, later)
	checkWindow(t, s, t0().Add(-6*hour), later)
	checkTree(t, target, treeWant{recs: all, state: later})
}

// checkStateKept fails when the state file changed since kept was taken.
func checkStateKept(t *testing.T, path string, kept os.FileInfo, who string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("after %s: %v", who, err)
	}
	if !fi.ModTime().Equal(kept.ModTime()) || fi.Size() != kept.Size() || !os.SameFile(fi, kept) {
		t.Errorf("%s rewrote the state file (now %s)", who, stamp(stateValue(t, filepath.Dir(path))))
	}
}

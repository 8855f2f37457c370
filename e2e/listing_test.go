//go:build unix

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// A first run with maxAge=0 walks every day since 1970 (some 19,800
// one-day shards). Decades without a recording must cost a few requests,
// not a listing per day (spec §3, §7), and the recordings and the state
// must come out as a listing of every day would leave them.
func TestFirstRunAnyAgeListsWide(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 12, Seed: 41, Start: t0().Add(-2 * day), End: t0()})
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(0)...)
	all := w.cloud.Recordings()

	s := w.run(t, cfg, t0())
	checkWindow(t, s, time.UnixMilli(0), t0())
	if s.shards < 19_000 {
		t.Fatalf("%d shards, want one per day since 1970: the premise did not happen", s.shards)
	}
	checkCounts(t, s, counts{shards: s.shards, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: all, state: t0()})
	n := w.cloud.Stats().Listings
	t.Logf("%d listing requests for %d shards", n, s.shards)
	if n > 50 {
		t.Errorf("%d listing requests for 54 empty years and 2 busy days, want ≤ 50", n)
	}
}

// A decade holding a few recordings far apart: each costs a few dozen
// requests to find, and every one is backed up.
func TestSparseDecadeListsWide(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 1, Seed: 42, Start: t0().Add(-hour), End: t0()})
	for _, at := range []time.Time{
		t0().AddDate(-9, -7, 3), t0().AddDate(-6, 0, 0), t0().AddDate(-6, 0, 1), t0().AddDate(-1, 2, 17),
	} {
		if err := w.cloud.Add(1, at, at.Add(hour)); err != nil {
			t.Fatal(err)
		}
	}
	all := w.cloud.Recordings()
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, "maxDate", "", "minDate", "", "maxAge", "P10Y")

	s := w.run(t, cfg, t0())
	checkCounts(t, s, counts{shards: s.shards, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: all, state: t0()})
	n := w.cloud.Stats().Listings
	t.Logf("%d listing requests for %d shards and %d recordings", n, s.shards, len(all))
	if s.shards < 3650 || n > int64(40*len(all)) {
		t.Errorf("%d listing requests for %d shards, want ≤ %d", n, s.shards, 40*len(all))
	}
}

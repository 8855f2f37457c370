package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcbs/rcbs/metadata"
)

// probingLister is fakeLister with the cheap probe of *metadata.Client,
// recording every request in order.
type probingLister struct {
	*fakeLister
	mu       sync.Mutex
	requests []string // "list <start>" or "probe <start>..<end>"
	probeErr error
}

func (p *probingLister) note(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, s)
}

func (p *probingLister) List(ctx context.Context, start, end time.Time, fn func(metadata.Recording) error) error {
	p.note("list " + start.Format(time.DateOnly))
	return p.fakeLister.List(ctx, start, end, fn)
}

func (p *probingLister) Any(_ context.Context, start, end time.Time) (bool, error) {
	p.note("probe " + start.Format(time.DateOnly) + ".." + end.Format(time.DateOnly))
	if p.probeErr != nil {
		return false, p.probeErr
	}
	p.fakeLister.mu.Lock()
	defer p.fakeLister.mu.Unlock()
	return slices.ContainsFunc(p.fakeLister.recs, func(r metadata.Recording) bool {
		return !r.StartTime.Before(start) && r.StartTime.Before(end)
	}), nil
}

// listed is the days listed, in order.
func (p *probingLister) listed() []string {
	var out []string
	for _, r := range p.requests {
		if day, ok := strings.CutPrefix(r, "list "); ok {
			out = append(out, day)
		}
	}
	return out
}

// decadeWorld is a world whose window is the ten years (3,653 one-day
// shards) before 2018-01-04, holding recordings at the given times.
func decadeWorld(t *testing.T, at ...time.Time) (*world, *probingLister, Deps) {
	w := newWorld(t)
	w.extra = "maxAge=P10Y\n"
	for i, start := range at {
		id := fmt.Sprintf("REC%d", i)
		w.addRecording(id, start, media{id: id + ".mp3", typ: "audio/mp3", data: blob(byte(i), 10)})
	}
	pl := &probingLister{fakeLister: w.lister}
	deps := w.deps()
	deps.Lister = pl
	return w, pl, deps
}

// TestWalkEmptyDecade: a window of ten empty years costs a handful of
// requests, not one listing per day, and the state moves to its end.
func TestWalkEmptyDecade(t *testing.T) {
	w, pl, deps := decadeWorld(t)
	sum, err := Run(context.Background(), w.config(), deps)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Shards != 3653 {
		t.Fatalf("%d shards, want 3653: the premise did not happen", sum.Shards)
	}
	if n := len(pl.requests); n > 50 {
		t.Errorf("%d requests for an empty decade, want ≤ 50", n)
	}
	if got := readState(t, w.target); got != stateLine(day(4, 0)) {
		t.Errorf("state %q, want %q", got, stateLine(day(4, 0)))
	}
	t.Logf("%d requests: %q", len(pl.requests), pl.requests)
}

// TestWalkSparseDecade: recordings scattered over ten years are all
// downloaded, their days listed oldest first, with a few dozen requests
// each instead of one per day; the state ends where a full listing
// would leave it.
func TestWalkSparseDecade(t *testing.T) {
	at := []time.Time{
		time.Date(2008, 2, 1, 3, 0, 0, 0, time.UTC),
		time.Date(2011, 7, 9, 12, 0, 0, 0, time.UTC),
		time.Date(2011, 7, 10, 1, 0, 0, 0, time.UTC),
		time.Date(2016, 12, 31, 23, 0, 0, 0, time.UTC),
		day(3, 5),
	}
	w, pl, deps := decadeWorld(t, at...)
	sum, err := Run(context.Background(), w.config(), deps)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Downloaded != len(at) || sum.Listed != len(at) {
		t.Errorf("listed %d, downloaded %d, want %d each", sum.Listed, sum.Downloaded, len(at))
	}
	listed := pl.listed()
	if !slices.IsSorted(listed) {
		t.Errorf("shards listed out of order: %q", listed)
	}
	for _, a := range at {
		if !slices.Contains(listed, a.Format(time.DateOnly)) {
			t.Errorf("the day of %s was never listed", a)
		}
	}
	if n := len(pl.requests); n > 40*len(at) {
		t.Errorf("%d requests for %d recordings in a decade, want ≤ %d", n, len(at), 40*len(at))
	}
	if got := readState(t, w.target); got != stateLine(day(4, 0)) {
		t.Errorf("state %q, want %q", got, stateLine(day(4, 0)))
	}
	t.Logf("%d requests, %d listings", len(pl.requests), len(listed))
}

// TestWalkDenseListsEveryShard: where every shard has recordings (the cron
// job's window) nothing is probed: no request more than one per shard.
func TestWalkDenseListsEveryShard(t *testing.T) {
	w, pl, deps := decadeWorld(t, day(1, 1), day(2, 1), day(3, 1))
	w.extra = ""
	if _, err := Run(context.Background(), w.config(), deps); err != nil {
		t.Fatal(err)
	}
	if want := []string{"list 2018-01-01", "list 2018-01-02", "list 2018-01-03"}; !slices.Equal(pl.requests, want) {
		t.Errorf("requests %q, want %q", pl.requests, want)
	}
}

// TestWalkHoldsStateAtFailure: a failed shard in a sparse window stops the
// state at its start, however many empty spans follow it.
func TestWalkHoldsStateAtFailure(t *testing.T) {
	bad := time.Date(2011, 7, 9, 0, 0, 0, 0, time.UTC)
	w, _, deps := decadeWorld(t, bad.Add(time.Hour), day(3, 5))
	w.lister.listErr = map[time.Time]error{bad: errors.New("HTTP 500")}
	_, err := Run(context.Background(), w.config(), deps)
	if err == nil {
		t.Fatal("Run succeeded with a failed shard")
	}
	if got := readState(t, w.target); got != stateLine(bad) {
		t.Errorf("state %q, want %q (the failed shard's start)", got, stateLine(bad))
	}
}

// TestWalkProbeFailureListsEachShard: a server that refuses the wide probe
// (some cap a query's range) is listed shard by shard; nothing is skipped.
func TestWalkProbeFailureListsEachShard(t *testing.T) {
	w, pl, deps := decadeWorld(t, day(1, 1), day(3, 5))
	w.extra = "maxAge=20\n"
	pl.probeErr = &metadata.HTTPError{Status: 400, Message: "range too wide"}
	sum, err := Run(context.Background(), w.config(), deps)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Downloaded != 2 || len(pl.listed()) != 20 {
		t.Errorf("downloaded %d with %d listings, want 2 with 20 (every shard)", sum.Downloaded, len(pl.listed()))
	}
	if !strings.Contains(w.logs.String(), "listing shard by shard") {
		t.Errorf("no warning about the refused probe in %s", w.logs.String())
	}
}

// TestWalkProbeStopsOnRefusedCredentials: a probe answered with refused
// credentials ends the run at once — no listing shard by shard, which
// would only be refused again, once per shard.
func TestWalkProbeStopsOnRefusedCredentials(t *testing.T) {
	w, pl, deps := decadeWorld(t, day(1, 1), day(3, 5))
	w.extra = "maxAge=20\n"
	pl.probeErr = &metadata.AuthError{Status: 401}
	_, err := Run(context.Background(), w.config(), deps)
	if !errors.As(err, new(*metadata.AuthError)) {
		t.Fatalf("run: %v, want the refused credentials", err)
	}
	if last := pl.requests[len(pl.requests)-1]; !strings.HasPrefix(last, "probe ") {
		t.Errorf("requests %v: shards were listed after the probe's credentials were refused", pl.requests)
	}
	if strings.Contains(w.logs.String(), "listing shard by shard") {
		t.Errorf("refused credentials taken for a refused range:\n%s", w.logs.String())
	}
}

//go:build unix

package e2e

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// faultRetries is the `retries` the fault run uses. With 10% of requests
// failing independently, an object fails all of n attempts with
// probability 0.1^n: with the default 5 that is 1e-5 per request, about
// 2% for a run of ~1,500 GETs plus the API's; 8 makes it 1e-8 per request,
// so a run of this size almost never needs a second run. The simulator's
// faults are a hash of (seed, request, attempt), so the outcome for this
// seed does not depend on timing either way.
const faultRetries = "8"

// TestFaultsTenPercent: against a cloud where 10% of the recordings API's
// and of S3's requests fail (500, 503 SlowDown, 429 with Retry-After,
// connection reset mid-body, truncated body), a run of 1,000 recordings
// exits 0 with every recording on disk byte-identical (sha256) to the
// source, exactly the tree a fault-free run writes.
func TestFaultsTenPercent(t *testing.T) {
	t.Parallel()
	faults := cloudsim.Faults{Rate: 0.1, RetryAfter: 10 * time.Millisecond} // every kind
	w := newWorld(t, cloudsim.Options{Recordings: 1000, Seed: 81, Start: t0().Add(-2 * day), End: t0(),
		APIMediaShare: 0.1, APIFaults: faults, S3Faults: faults})
	all := w.cloud.Recordings()
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(2, "retries", faultRetries, "numThreads", "16")...)

	r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	if r.code != 0 {
		t.Fatalf("want exit 0 despite 10%% faults, got %s", clip(r.String()))
	}
	checkCounts(t, parseSummary(t, r), counts{shards: 2, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: all, state: t0()})

	st := w.cloud.Stats()
	t.Logf("faults injected: API %v, S3 %v", st.APIFaults, st.S3Faults)
	kinds := []string{cloudsim.Fault500, cloudsim.Fault503, cloudsim.Fault429, cloudsim.FaultReset, cloudsim.FaultTruncate}
	for _, kind := range kinds {
		if st.S3Faults[kind] == 0 || st.APIFaults[kind] == 0 {
			t.Errorf("no %q fault was injected into S3 (%d) or the API (%d): the test does not prove rcbs survives it",
				kind, st.S3Faults[kind], st.APIFaults[kind])
		}
	}
	if !slices.ContainsFunc(all, func(r cloudsim.Recording) bool {
		return slices.ContainsFunc(r.Media, func(m cloudsim.Media) bool { return m.Key == "" })
	}) {
		t.Error("no media is served by the API: its faults were met by listings only")
	}
}

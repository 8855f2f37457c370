//go:build unix

package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// raceBuild: the binary under test was built with -race (RCBS_E2E_RACE=1,
// scripts/test in CI). Memory bounds do not hold there: the detector
// multiplies memory several times.
func raceBuild() bool { return os.Getenv("RCBS_E2E_RACE") == "1" }

// Media whose type only resembles a kept one is never downloaded: the
// default mediaTypePattern matches the whole type (spec §3). The check is
// per type, so that one rejected type cannot hide another.
func TestNearMissMediaTypesNotDownloaded(t *testing.T) {
	t.Parallel()
	nearMisses := []string{"audio/mp3x", "xaudio/mp3", "audio/mp3;codec=x"}
	w := newWorld(t, cloudsim.Options{Recordings: 4, Seed: 18, Start: t0().Add(-day), End: t0(), ExtraMediaTypes: nearMisses})
	all := w.cloud.Recordings()
	kept := make([]cloudsim.Recording, len(all))
	keptMedia := 0
	for i, r := range all {
		for _, typ := range nearMisses {
			if !slices.ContainsFunc(r.Media, func(m cloudsim.Media) bool { return m.Type == typ }) {
				t.Fatalf("premise: recording %s has no %s media file", r.ID, typ)
			}
		}
		kept[i] = r
		kept[i].Media = slices.DeleteFunc(slices.Clone(r.Media), func(m cloudsim.Media) bool { return slices.Contains(nearMisses, m.Type) })
		keptMedia += len(kept[i].Media)
	}
	target := filepath.Join(t.TempDir(), "target")
	s := w.run(t, w.writeConfig(t, target, relative(1)...), t0()) // the cron window: it writes the state
	checkCounts(t, s, counts{shards: 1, listed: len(all), mine: len(all), downloaded: len(all)})
	checkTree(t, target, treeWant{recs: kept, state: t0()})
	if got := w.cloud.Stats().S3Get; got != int64(keptMedia) {
		t.Errorf("%d S3 GETs, want %d: one per kept media file, none for the near misses", got, keptMedia)
	}
}

// A second Ctrl-C ends rcbs at once, even while the first one's cleanup
// waits: here on a monitor (pingUrl) that never answers the failure ping.
// The first signal alone would wait out the ping's timeout.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 6, Seed: 13, Start: t0().Add(-day), End: t0(),
		S3Faults: cloudsim.Faults{Latency: time.Minute}})
	started, failing := make(chan struct{}, 1), make(chan struct{}, 1)
	release := make(chan struct{})
	monitor := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/start"):
			started <- struct{}{}
		case strings.HasSuffix(r.URL.Path, "/fail"):
			failing <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	defer monitor.Close()
	defer close(release)
	cfg := w.writeConfig(t, filepath.Join(t.TempDir(), "target"), "pingUrl", monitor.URL+"/ping/check")
	p := start(t, w.env, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	for _, step := range []struct {
		name string
		seen chan struct{}
	}{{"the start ping", started}, {"the failure ping after the first SIGINT", failing}} {
		select {
		case <-step.seen:
		case <-p.done:
			t.Fatalf("rcbs ended before %s: %s", step.name, p.stderr.String())
		}
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}
	r := p.wait(t)
	if r.code != 130 || !strings.Contains(r.stderr, "interrupted again") {
		t.Errorf("want exit 130 on the second SIGINT, got %s", r)
	}
	if strings.Contains(r.stderr, "ping failed") {
		t.Errorf("rcbs waited out the ping instead of exiting at once: %s", r)
	}
}

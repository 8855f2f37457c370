package e2e

import (
	"crypto/sha256"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
	"github.com/rcbs/rcbs/cloudsim/s3test"
	"github.com/rcbs/rcbs/internal/faultproxy"
)

// Journey: a bit flips on the way from a real S3 server (versitygw, behind
// a corrupting proxy) and the end of the body arrives late — the case
// where rcbs once saved a corrupted recording as complete. The run must
// exit 1 naming the recording, keep no file of it and hold the state back;
// every other file is byte-identical; every stderr line is JSON and one
// says how the media were checked. Once the network heals, the next run
// completes it.
func TestJourneyCorruptedDownload(t *testing.T) {
	t.Parallel()
	endpoint, access, secret := s3test.StartVersityGW(t)
	w := newWorld(t, cloudsim.Options{Recordings: 8, Seed: 17, Start: t0().Add(-day), End: t0()})
	if err := w.cloud.UploadTo(t.Context(), endpoint, access, secret); err != nil {
		t.Fatalf("upload to versitygw: %v", err)
	}
	w.env = append(inherited(), w.cloud.Env()...)
	proxy, err := faultproxy.Start(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	all := w.cloud.Recordings()
	bad, media := firstS3Media(t, all)
	path := "/" + media.Bucket + "/" + media.Key
	proxy.Set(path, faultproxy.Fault{Flip: media.Size / 2, Delay: 200 * time.Millisecond, Tail: 16})

	target := filepath.Join(t.TempDir(), "target")
	metrics := filepath.Join(t.TempDir(), "rcbs.prom")
	// The cron job's window (not a one-off export): it owns the state file.
	cfg := w.writeConfig(t, target, relative(1, "awsEndpoint", proxy.URL, "retries", "2", "logFormat", "json", "metricsFile", metrics)...)
	r := w.rcbs(t, "run", "-config", cfg, "-now", t0().Format(time.RFC3339))
	if r.code != 1 {
		t.Fatalf("want exit 1, got %s", r)
	}
	if proxy.Flipped(path) != 2 {
		t.Fatalf("the bit was flipped in %d bodies, want 2 (retries=2): the test's premise did not happen", proxy.Flipped(path))
	}
	checkCounts(t, parseSummary(t, r), counts{shards: 1, listed: len(all), mine: len(all), downloaded: len(all) - 1, failed: 1})
	checked := checkJSONLog(t, r.stderr, bad.ID)
	lo, hi := writtenByCheck(all, bad.ID, media.MediaID)
	for method := range hi {
		if n, ok := checked[method]; !ok || n < lo[method] || n > hi[method] {
			t.Errorf("checked %v, want between %v and %v: every S3 media file checked by the SDK (versitygw keeps a CRC64NVME)", checked, lo, hi)
			break
		}
	}
	if len(checked) != len(hi) {
		t.Errorf("checked by %v, want the methods %v", checked, hi)
	}
	m := readMetrics(t, metrics)
	for method, n := range checked {
		if got := m[`rcbs_files_verified{method="`+method+`"}`]; got != strconv.Itoa(n) {
			t.Errorf("metric rcbs_files_verified{method=%q} is %q, the log says %d", method, got, n)
		}
	}
	if _, err := os.Stat(filepath.Join(target, recDir(bad), media.MediaID+".bin")); !os.IsNotExist(err) {
		t.Errorf("the corrupted media is on disk (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(target, stateFile)); !os.IsNotExist(err) {
		t.Errorf("the state moved past a corrupted recording (%v)", err)
	}
	for _, rec := range all {
		for _, m := range rec.Media {
			if rec.ID == bad.ID {
				continue
			}
			b, err := os.ReadFile(filepath.Join(target, recDir(rec), m.MediaID+".bin"))
			if err != nil || sha256.Sum256(b) != m.SHA256 {
				t.Errorf("%s/%s: not the stored bytes (%v)", rec.ID, m.MediaID, err)
			}
		}
	}

	proxy.Set(path, faultproxy.Fault{Flip: -1})
	s := w.run(t, w.writeConfig(t, target, relative(1, "awsEndpoint", proxy.URL, "retries", "2")...), t0())
	checkCounts(t, s, counts{shards: 1, listed: len(all), mine: len(all), downloaded: 1, skipped: len(all) - 1})
	checkTree(t, target, treeWant{recs: all, state: t0()})
}

// firstS3Media is the first media file stored in S3.
func firstS3Media(t *testing.T, recs []cloudsim.Recording) (cloudsim.Recording, cloudsim.Media) {
	t.Helper()
	for _, r := range recs {
		for _, m := range r.Media {
			if m.Key != "" {
				return r, m
			}
		}
	}
	t.Fatal("no media in S3")
	return cloudsim.Recording{}, cloudsim.Media{}
}

// writtenByCheck counts the media files a run writes, by check method,
// when badMedia of the recording badID fails: those in S3 are checked by
// the SDK, those of the API cannot be. The bad recording's other media are
// fetched beside it and may or may not be done when it fails: lo counts
// none of them, hi all.
func writtenByCheck(recs []cloudsim.Recording, badID, badMedia string) (lo, hi map[string]int) {
	lo = map[string]int{"sdk-checksum": 0, "full-object-checksum": 0, "composite-checksum": 0, "md5-etag": 0, "none": 0}
	hi = maps.Clone(lo)
	for _, r := range recs {
		for _, m := range r.Media {
			if r.ID == badID && m.MediaID == badMedia {
				continue
			}
			method := "none"
			if m.Key != "" {
				method = "sdk-checksum"
			}
			hi[method]++
			if r.ID != badID {
				lo[method]++
			}
		}
	}
	return lo, hi
}

// checkJSONLog checks that every stderr line is a JSON object, that one
// error names id, and returns the counts of the "media checked" record.
func checkJSONLog(t *testing.T, stderr, id string) map[string]int {
	t.Helper()
	var checked map[string]int
	named := false
	for line := range strings.Lines(stderr) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("stderr line is not JSON: %q", line)
			continue
		}
		if rec["level"] == "ERROR" && strings.Contains(line, id) {
			named = true
		}
		if rec["msg"] == "media checked against the source" {
			checked = map[string]int{}
			for k, v := range rec {
				if f, ok := v.(float64); ok && k != "instance" {
					checked[k] = int(f)
				}
			}
		}
	}
	if !named {
		t.Errorf("no error line names %s:\n%s", id, stderr)
	}
	if checked == nil {
		t.Errorf("no \"media checked against the source\" line:\n%s", stderr)
	}
	return checked
}

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cloudsim"
)

// Journey: a nightly decrypt of a growing archive (spec §8). The second run
// over the same tree skips every existing output and exits 0; a new
// recording's file is the only one decrypted; -force redoes them all; a key
// that does not belong to -cert is one line, exit 2, and touches nothing.
func TestJourneyDecryptRerun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, cloudsim.Options{Recordings: 8, Seed: 13, Start: t0().Add(-2 * day), End: t0()})
	all := w.cloud.Recordings()
	target := filepath.Join(t.TempDir(), "target")
	w.run(t, w.writeConfig(t, target, relative(2)...), t0())
	keyPath, certPath, err := w.cloud.WriteKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	media := 0
	for _, r := range all {
		media += len(r.Media)
	}
	out := filepath.Join(t.TempDir(), "plain")
	decrypt := func(wantCode int, wantSummary string, extra ...string) result {
		t.Helper()
		r := w.rcbs(t, append(append([]string{"decrypt", "-key", keyPath, "-cert", certPath}, extra...), "-out", out, target)...)
		if r.code != wantCode || !regexp.MustCompile(wantSummary).MatchString(r.stdout) {
			t.Fatalf("want exit %d and %q, got %s", wantCode, wantSummary, r)
		}
		return r
	}
	decrypt(0, `^decrypted `+strconv.Itoa(media)+`, skipped 0, failed 0, `)
	checkPlainTree(t, target, out, all)

	r := decrypt(0, `^decrypted 0, skipped `+strconv.Itoa(media)+`, failed 0, `)
	if strings.Contains(r.stderr, "rcbs:") {
		t.Errorf("a re-run reports errors: %s", r)
	}

	// A file decrypted since (say, by hand) goes; the next run redoes only it.
	rec := all[0]
	gone := filepath.Join(out, recDir(rec), rec.Media[0].MediaID)
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}
	decrypt(0, `^decrypted 1, skipped `+strconv.Itoa(media-1)+`, failed 0, `)
	decrypt(0, `^decrypted `+strconv.Itoa(media)+`, skipped 0, failed 0, `, "-force")
	checkPlainTree(t, target, out, all)

	// Another key, the archive's certificate: one line, exit 2, nothing written.
	otherKey := filepath.Join(t.TempDir(), "other.key")
	if b, err := exec.Command("openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", otherKey).CombinedOutput(); err != nil {
		t.Fatalf("openssl genpkey: %v\n%s", err, b)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	r = w.rcbs(t, "decrypt", "-key", otherKey, "-cert", certPath, "-out", fresh, target)
	if r.code != 2 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, otherKey) || !strings.Contains(r.stderr, certPath) {
		t.Fatalf("mismatched key: want one line naming both files and exit 2, got %s", r)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Error("a mismatched key created the output folder")
	}
}

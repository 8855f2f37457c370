//go:build unix

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cloudsim"
)

// The export journey (spec §15): back up, then `rcbs export -key` the
// archive into one zip that unzip tests, sha256sum -c verifies, whose media
// are openssl's plaintext and whose PDFs name each call; one recording
// without -key gives the stored .bin; a wrong key fails whole, leaving
// nothing behind.
func TestJourneyExport(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"unzip", "sha256sum", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing (scripts/test installs it)", tool)
			}
			t.Skipf("%s is missing", tool)
		}
	}
	w := newWorld(t, cloudsim.Options{Recordings: 8, Seed: 15, Start: t0().Add(-2 * day), End: t0()})
	target := filepath.Join(t.TempDir(), "target")
	cfg := w.writeConfig(t, target, relative(2)...)
	w.run(t, cfg, t0())
	keyPath, _, err := w.cloud.WriteKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "all.zip")
	r := w.rcbs(t, "export", "-config", cfg, "-out", out, "-key", keyPath)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "exported: recordings 8, ") {
		t.Fatalf("export: %s", r)
	}
	unzipped := t.TempDir()
	runTool(t, "", "unzip", "-t", out)
	runTool(t, "", "unzip", "-q", out, "-d", unzipped)
	runTool(t, unzipped, "sha256sum", "--quiet", "-c", "SHA256SUMS")
	for _, rec := range w.cloud.Recordings() {
		info, err := archive.ParseInfo(rec.JSON)
		if err != nil {
			t.Fatal(err)
		}
		folder := filepath.Join(unzipped, rec.StartTime.UTC().Format("2006-01-02_15-04-05")+"_"+rec.ID)
		stored := filepath.Join(target, rec.StartTime.UTC().Format("2006/01/02/15"), rec.ID)
		for _, m := range info.Media {
			got, err := os.ReadFile(filepath.Join(folder, strings.TrimSuffix(m.ID, ".bin")))
			if err != nil {
				t.Errorf("%s: media %s not in the zip under its own name: %v", rec.ID, m.ID, err)
				continue
			}
			if !bytes.Equal(got, opensslPlain(t, filepath.Join(stored, m.File), keyPath)) {
				t.Errorf("%s: media %s is not openssl's plaintext", rec.ID, m.ID)
			}
		}
		text := runTool(t, "", "pdftotext", filepath.Join(folder, "call-info.pdf"), "-")
		for _, field := range []string{rec.ID, info.ANI, info.Direction, fmt.Sprintf("Media (%d)", len(info.Media))} {
			if !strings.Contains(text, field) {
				t.Errorf("%s: call-info.pdf lacks %q", rec.ID, field)
			}
		}
	}

	// One recording, no key: the .bin as stored.
	rec := w.cloud.Recordings()[0]
	one := filepath.Join(t.TempDir(), "one.zip")
	if r := w.rcbs(t, "export", "-config", cfg, "-out", one, "-id", rec.ID); r.code != 0 || !strings.HasPrefix(r.stdout, "exported: recordings 1, ") {
		t.Fatalf("export -id: %s", r)
	}
	listing := runTool(t, "", "unzip", "-Z1", one)
	if strings.Count(listing, ".bin\n") != len(rec.Media) || !strings.HasSuffix(listing, "SHA256SUMS\n") {
		t.Errorf("export without -key:\n%s", listing)
	}

	// A wrong key: exit 1, one line naming a recording, no zip, no temp file.
	wrongDir := t.TempDir()
	runTool(t, "", "openssl", "genrsa", "-out", filepath.Join(wrongDir, "wrong.key"), "2048")
	outDir := t.TempDir()
	r = w.rcbs(t, "export", "-config", cfg, "-out", filepath.Join(outDir, "x.zip"), "-key", filepath.Join(wrongDir, "wrong.key"))
	if r.code != 1 || !strings.Contains(r.stderr, "recording ") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("export with a wrong key: %s", r)
	}
	if left, _ := os.ReadDir(outDir); len(left) != 0 {
		t.Errorf("a failed export left %v", left)
	}
}

// runTool runs a command (in dir, when not empty) and returns its stdout.
func runTool(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s%s", name, args, err, out, stderr.String())
	}
	return string(out)
}

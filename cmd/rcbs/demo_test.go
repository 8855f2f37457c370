package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cloudsim"
)

// TestDemo runs the demo twice, as a new user would: the first run backs up
// and decrypts every recording (each plaintext checked against the
// simulator's), the second downloads nothing.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	day := time.Now()
	code, out, errOut := runCapture(t, []string{"demo", "-dir", dir, "-recordings", "12"})
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !regexp.MustCompile(`recordings listed 12, mine 12, downloaded 12, skipped 0, failed 0`).MatchString(out) {
		t.Fatalf("first run summary wrong:\n%s", out)
	}
	if time.Now().UTC().Truncate(24*time.Hour) != day.UTC().Truncate(24*time.Hour) {
		t.Skip("the day changed during the test: the demo's window moved")
	}
	ref, err := cloudsim.New(demoOptions(12, day))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	checkDecrypted(t, ref, filepath.Join(dir, "decrypted"))

	code, out, errOut = runCapture(t, []string{"demo", "-dir", dir, "-recordings", "12"})
	if code != 0 || !strings.Contains(out, "downloaded 0, skipped 12, failed 0") {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkDecrypted(t, ref, filepath.Join(dir, "decrypted"))
}

// checkDecrypted asserts that every media of ref has its plaintext under
// root, found by media ID, with the expected sha256.
func checkDecrypted(t *testing.T, ref *cloudsim.Cloud, root string) {
	t.Helper()
	got := map[string][32]byte{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "recording.json" {
			return err
		}
		b, err := os.ReadFile(path)
		got[d.Name()] = sha256.Sum256(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range ref.Recordings() {
		for _, m := range r.Media {
			want++
			if sum, ok := got[m.MediaID]; !ok || sum != m.PlainSHA256 {
				t.Errorf("media %s: decrypted plaintext missing or different (found %v)", m.MediaID, ok)
			}
		}
	}
	if len(got) != want {
		t.Errorf("decrypted %d files, want %d", len(got), want)
	}
}

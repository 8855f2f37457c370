//go:build unix

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cloudsim"
)

// The built binary serves the page, WebDAV and the zip (spec §12, §15):
// the page comes with its CSP and CSRF token, curl lists /dav/ and fetches a
// stored file byte-identical for a user of scope *, and a search's zip link
// gives a zip whose media are openssl's plaintext.
func TestJourneyServeWebDavZip(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is missing (scripts/test installs it)")
		}
		t.Skip("curl is missing")
	}
	w := newWorld(t, cloudsim.Options{Recordings: 6, Seed: 16, Start: t0().Add(-2 * day), End: t0()})
	target := filepath.Join(t.TempDir(), "target")
	w.run(t, w.writeConfig(t, target, relative(2)...), t0())
	keyPath, _, err := w.cloud.WriteKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	const password = "auditor-password-NEVER-SHOWN"
	hashCmd := exec.Command(rcbsBin, "serve", "-hash-password")
	hashCmd.Stdin = strings.NewReader(password + "\n")
	hash, err := hashCmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("auditor:"+strings.TrimSpace(string(hash))+":*\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := w.startServe(t, w.writeConfig(t, target, relative(2, "serveListen", "127.0.0.1:0", "serveUsers", users, "serveDecryptionKey", keyPath)...))

	code, page, hdr := get(t, s.base+"/")
	if code != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		!bytes.Contains(page, []byte(`<meta name="csrf-token" content="`)) || !bytes.Contains(page, []byte(`id="signin"`)) {
		t.Errorf("GET /: %d, CSP %q\n%s", code, hdr.Get("Content-Security-Policy"), page)
	}

	rec := w.cloud.Recordings()[0]
	dir := rec.StartTime.UTC().Format("2006/01/02/15") + "/" + rec.ID
	listing := curl(t, "-u", "auditor:"+password, "-X", "PROPFIND", "-H", "Depth: 1", s.base+"/dav/"+dir+"/")
	if !strings.Contains(listing, "/dav/"+dir+"/recording.json</D:href>") || strings.Contains(listing, ".rcbs") {
		t.Errorf("PROPFIND %s:\n%s", dir, listing)
	}
	stored, err := os.ReadFile(filepath.Join(target, filepath.FromSlash(dir), rec.Media[0].MediaID+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := curl(t, "-u", "auditor:"+password, s.base+"/dav/"+dir+"/"+rec.Media[0].MediaID+".bin"); got != string(stored) {
		t.Errorf("GET over WebDAV is not the stored file (%d vs %d bytes)", len(got), len(stored))
	}
	if code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "-u", "auditor:"+password, "-X", "DELETE", s.base+"/dav/"+dir+"/"); code != "403" {
		t.Errorf("DELETE over WebDAV: %s, want 403", code)
	}

	var answer struct {
		Results []struct {
			Zip string `json:"zip"`
		} `json:"results"`
	}
	out := curl(t, "-H", "Authorization: Bearer "+serveToken, "-d", `{"id":"`+rec.ID+`"}`, s.base+"/search/")
	if err := json.Unmarshal([]byte(out), &answer); err != nil || len(answer.Results) != 1 {
		t.Fatalf("search %s: %v\n%s", rec.ID, err, out)
	}
	zipURL := answer.Results[0].Zip
	code, body, _ := get(t, zipURL)
	if code != 200 {
		t.Fatalf("zip link: %d", code)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	plain := opensslPlain(t, filepath.Join(target, filepath.FromSlash(dir), rec.Media[0].MediaID+".bin"), keyPath)
	found := false
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/"+rec.Media[0].MediaID) {
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			found = bytes.Equal(b, plain)
		}
	}
	if !found || zr.File[len(zr.File)-1].Name != "SHA256SUMS" {
		t.Errorf("the zip lacks the decrypted media or does not end with SHA256SUMS")
	}
	if r := s.stop(t); strings.Contains(r.stdout+r.stderr, password) {
		t.Error("serve's output shows the password")
	}
}

func curl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("curl", append([]string{"-sS", "--fail-with-body"}, args...)...).Output()
	if err != nil && !strings.Contains(strings.Join(args, " "), "%{http_code}") {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

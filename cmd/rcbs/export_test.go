package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cms/cmstest"
	"github.com/rcbs/rcbs/internal/archivetest"
)

// exportArchive writes two recordings encrypted to a fresh key and a
// config pointing at them.
func exportArchive(t *testing.T) (config string, pki cmstest.PKI, recs []archivetest.Recording) {
	dir := t.TempDir()
	pki = cmstest.NewPKI(t, dir, "rec")
	root := filepath.Join(dir, "archive")
	start := time.Date(2018, 2, 12, 19, 1, 7, 0, time.UTC)
	recs = []archivetest.Recording{
		{ID: "REC-A", Start: start, Duration: 3 * time.Second, ANI: "+4930", Agents: []string{"a1"},
			Media: []archivetest.Media{{ID: "REC-A_1", Type: "audio/mp3", Plain: archivetest.MP3(time.Second, 1)}}},
		{ID: "REC-B", Start: start.Add(24 * time.Hour), Duration: 3 * time.Second, ANI: "+33", Agents: []string{"a2"},
			Media: []archivetest.Media{{ID: "REC-B_1", Type: "audio/mp3", Plain: archivetest.MP3(time.Second, 2)}}},
	}
	for _, r := range recs {
		archivetest.Write(t, root, r, pki.CertFile)
	}
	config = filepath.Join(dir, "rcbs.properties")
	if err := os.WriteFile(config, []byte("gwsUriPrefix=https://example.com/api/v2\ntargetDir="+filepath.ToSlash(root)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return config, pki, recs
}

func TestExportCommand(t *testing.T) {
	config, pki, _ := exportArchive(t)
	out := filepath.Join(t.TempDir(), "day.zip")
	code, stdout, stderr := runCapture(t, []string{"export", "-config", config, "-out", out, "-from", "2018-02-12", "-to", "2018-02-13", "-key", pki.KeyFile})
	if code != 0 || !regexp.MustCompile(`^exported: recordings 1, bytes \d+, .*day\.zip, \S+\n$`).MatchString(stdout) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	zr.Close()
	want := "2018-02-12_19-01-07_REC-A/REC-A_1.mp3 2018-02-12_19-01-07_REC-A/recording.json 2018-02-12_19-01-07_REC-A/call-info.pdf SHA256SUMS"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries:\n%s\nwant\n%s", got, want)
	}
}

// A media file that does not decrypt fails the export with one line naming
// the recording, exit 1, and leaves neither the zip nor a temporary file.
func TestExportCommandFailsWhole(t *testing.T) {
	config, _, _ := exportArchive(t)
	wrong := cmstest.NewPKI(t, t.TempDir(), "wrong")
	outDir := t.TempDir()
	out := filepath.Join(outDir, "all.zip")
	code, stdout, stderr := runCapture(t, []string{"export", "-config", config, "-out", out, "-key", wrong.KeyFile, "-agent", "a2"})
	if code != 1 || !strings.Contains(stderr, "REC-B") || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if left, _ := os.ReadDir(outDir); len(left) != 0 {
		t.Errorf("a failed export left %v", left)
	}
}

func TestExportCommandUsage(t *testing.T) {
	config, _, _ := exportArchive(t)
	out := filepath.Join(t.TempDir(), "x.zip")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-h"}, 0, "Examples:"},
		{[]string{"-out", out}, 2, "-config FILE is required"},
		{[]string{"-config", config}, 2, "-out FILE.zip is required"},
		{[]string{"-config", config, "-out", out, "-from", "12.2.2018"}, 2, "-from"},
		{[]string{"-config", config, "-out", out, "-from", "2018-02-13", "-to", "2018-02-12"}, 2, "must be before"},
		{[]string{"-config", config, "-out", out, "-ani", "+1"}, 1, "no recording matches"},
		{[]string{"-config", config, "-out", out, "-id", "REC-A,NOPE"}, 1, "recording NOPE: not in the archive"},
		{[]string{"-config", config, "-out", out, "-key", "/nonexistent.pem"}, 2, "nonexistent.pem"},
	} {
		code, stdout, stderr := runCapture(t, append([]string{"export"}, c.args...))
		if code != c.code || !strings.Contains(stdout+stderr, c.want) {
			t.Errorf("export %v: exit %d (want %d), output %q lacks %q", c.args, code, c.code, stdout+stderr, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused export wrote %s", out)
	}
}

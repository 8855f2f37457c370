package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// run verifies root and returns the result and the problem lines.
func run(t *testing.T, opts Options) (Result, []string) {
	t.Helper()
	var lines []string
	opts.Report = func(l string) { lines = append(lines, l) }
	res, err := Run(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, lines
}

func TestVerify(t *testing.T) {
	root := t.TempDir()
	files, total := writeBenchArchive(t, root, 300, 1000) // 2024-01-01 from 00:00, 4 an hour: days 01 to 04
	rel := func(i int) string { r, _ := filepath.Rel(root, files[i]); return filepath.ToSlash(r) }
	res, lines := run(t, Options{Root: root, Workers: 3})
	if res.Problems() != 0 || res.Recordings != 300 || res.Files != 600 || res.Bytes != total || res.Signatures != "absent" {
		t.Fatalf("clean: %+v %q", res, lines)
	}
	// A range of one day: 96 recordings.
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	if res, _ := run(t, Options{Root: root, From: day, To: day.Add(24 * time.Hour)}); res.Recordings != 96 || res.Problems() != 0 {
		t.Errorf("one day: %+v", res)
	}
	const media = 0 // files[2k] is recording k's media
	mustWrite(t, files[media], []byte(strings.Repeat("x", 1000)))
	os.Remove(files[media+2*10])
	mustWrite(t, filepath.Join(root, "2024/01/01/00/stray.txt"), []byte("x"))
	res, lines = run(t, Options{Root: root})
	want := []string{"corrupt: " + rel(media) + ": sha256 ", "missing: " + rel(media+20) + " (recording ", "unlisted: 2024/01/01/00/stray.txt"}
	if res.Corrupt != 1 || res.Missing != 1 || res.Unlisted != 1 || len(lines) != 3 {
		t.Fatalf("tampered: %+v %q", res, lines)
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(lines, "\n"), w) {
			t.Errorf("no line with %q in %q", w, lines)
		}
	}
	if len(res.Damaged) != 2 {
		t.Errorf("damaged %+v, want the two recordings", res.Damaged)
	}
	// A pruned recording is not missing.
	dir := filepath.Dir(rel(media + 40))
	os.RemoveAll(filepath.Join(root, dir))
	if res, _ := run(t, Options{Root: root}); res.Missing != 3 {
		t.Fatalf("a removed folder: missing %d, want 3", res.Missing)
	}
	mustWrite(t, filepath.Join(root, archive.ManifestDir, "2024-01-01"+archive.PrunedExt), []byte(dir+"/"+archive.RecordingFile+"\n"+rel(media+40)+"\n"))
	if res, lines := run(t, Options{Root: root}); res.Missing != 1 {
		t.Errorf("after listing it pruned: %+v %q", res, lines)
	}
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUnlistedSaysWhere: a file added inside a complete recording folder
// and one left outside any recording are both unlisted, each with the line
// that says which it is (only the first can be adopted).
func TestUnlistedSaysWhere(t *testing.T) {
	root := t.TempDir()
	files, _ := writeBenchArchive(t, root, 2, 100)
	recDir := filepath.Dir(files[0])
	relDir, _ := filepath.Rel(root, recDir)
	mustWrite(t, filepath.Join(recDir, "extra.bin"), []byte("by hand"))
	mustWrite(t, filepath.Join(root, "2024/01/01/00/stray.txt"), []byte("x"))
	res, lines := run(t, Options{Root: root, Adoptable: true})
	all := strings.Join(lines, "\n")
	if res.Unlisted != 2 {
		t.Fatalf("unlisted %d, want 2: %q", res.Unlisted, lines)
	}
	for _, want := range []string{
		"unlisted: " + filepath.ToSlash(relDir) + "/extra.bin (in no manifest)",
		"unlisted: 2024/01/01/00/stray.txt (in no manifest, and in no complete recording folder",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no line %q in %q", want, lines)
		}
	}
	if len(res.Unadopted) != 1 || res.Unadopted[0].Path != filepath.ToSlash(relDir)+"/extra.bin" {
		t.Errorf("adoptable: %+v, want only the file in the recording folder", res.Unadopted)
	}
}

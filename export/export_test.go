package export

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/cms/cmstest"
	"github.com/rcbs/rcbs/internal/archivetest"
)

var start = time.Date(2018, 2, 12, 19, 1, 7, 0, time.UTC)

func sampleRecordings() []archivetest.Recording {
	return []archivetest.Recording{{
		ID: "01F62DGIBGD8369P7GC362LAES00000G", Start: start, Duration: 61 * time.Second,
		Direction: "Inbound", ANI: "+33175757575", DNIS: "5000", Tenant: "Zoë Müller GmbH",
		Agents: []string{"agent7", "agent2"}, ExtraEventName: "transferred to Zoë Müller",
		Media: []archivetest.Media{
			{ID: "01F62DGIBGD8369P7GC362LAES00000G_2018-02-12_19-01-07-00000001.mp3", Type: "audio/mp3", Plain: archivetest.MP3(3*time.Second, 1)},
			{ID: "01F62DGIBGD8369P7GC362LAES00000G_screen", Type: "video/mp4", Plain: []byte("not really a video")},
		},
	}, {
		ID: "01F62DGIBGD8369P7GC362LAES00000H", Start: start.Add(time.Hour), Duration: 5 * time.Second,
		Direction: "Outbound", ANI: "5001", DNIS: "+4930123", Tenant: "Environment", Agents: []string{"agent9"},
		Media: []archivetest.Media{{ID: "m-H.mp3", Type: "audio/mp3", Plain: archivetest.MP3(time.Second, 2)}},
	}}
}

// writeZip exports every recording under root to a file and returns it.
func writeZip(t *testing.T, root string, opts Options) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.zip")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := NewWriter(f, opts)
	err = Select(context.Background(), []string{root}, Filter{}, func(dir string, _ archive.Info) error {
		_, err := zw.Add(context.Background(), dir)
		return err
	})
	if err != nil {
		zw.Abort()
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportDecrypted(t *testing.T) {
	requireTool(t, "unzip")
	pki := cmstest.NewPKI(t, t.TempDir(), "rec")
	root := t.TempDir()
	recs := sampleRecordings()
	for _, r := range recs {
		archivetest.Write(t, root, r, pki.CertFile)
	}
	out := writeZip(t, root, Options{Key: pki.Key})
	run(t, "unzip", "-t", out)

	entries := readZip(t, out)
	folder := "2018-02-12_19-01-07_01F62DGIBGD8369P7GC362LAES00000G/"
	want := []string{
		folder + recs[0].Media[0].ID, // already ends in .mp3
		folder + recs[0].Media[1].ID + ".mp4",
		folder + "recording.json", folder + PDFName,
		"2018-02-12_20-01-07_01F62DGIBGD8369P7GC362LAES00000H/m-H.mp3",
	}
	for _, name := range want {
		if _, ok := entries.data[name]; !ok {
			t.Errorf("zip lacks %s; has %v", name, entries.names)
		}
	}
	if last := entries.names[len(entries.names)-1]; last != SumsName {
		t.Errorf("last entry %s, want %s", last, SumsName)
	}
	// Decrypted bytes are openssl's, not just ours.
	bin := filepath.Join(root, recs[0].Dir(), recs[0].Media[0].ID+".bin")
	if got, ref := entries.data[want[0]], cmstest.Decrypt(t, bin, pki.KeyFile); string(got) != string(ref) || string(ref) != string(recs[0].Media[0].Plain) {
		t.Errorf("decrypted media differs from openssl cms -decrypt (%d vs %d bytes)", len(got), len(ref))
	}
	checkSums(t, entries)
	text := pdfText(t, entries.data[folder+PDFName])
	for _, field := range []string{
		"01F62DGIBGD8369P7GC362LAES00000G", "2018-02-12 19:01:07 UTC", "2018-02-12 19:02:08 UTC", "1m1s (61 s)",
		"Inbound", "+33175757575", "5000", "agent2, agent7", "Zoë Müller GmbH", "audio/mp3", "video/mp4",
		hexSum(recs[0].Media[0].Plain), hexSum(readFile(t, bin)), "transferred to Zoë Müller", "joined",
		"Event history (3)", "Media (2)",
	} {
		if !strings.Contains(text, field) {
			t.Errorf("call-info.pdf lacks %q; pdftotext gives:\n%s", field, text)
		}
	}
	renderPDF(t, entries.data[folder+PDFName])
}

func TestExportStored(t *testing.T) {
	root := t.TempDir()
	recs := sampleRecordings()
	for _, r := range recs {
		archivetest.Write(t, root, r, "")
	}
	entries := readZip(t, writeZip(t, root, Options{}))
	name := "2018-02-12_20-01-07_01F62DGIBGD8369P7GC362LAES00000H/m-H.mp3.bin"
	if string(entries.data[name]) != string(recs[1].Media[0].Plain) {
		t.Errorf("%s is not the stored .bin; entries %v", name, entries.names)
	}
	checkSums(t, entries)
	if n := len(entries.names); n != 8 {
		t.Errorf("%d entries, want 8 (3 media, 2 json, 2 pdf, sums): %v", n, entries.names)
	}
}

// A media file that does not decrypt fails Add, names the recording and
// the media, and makes Close fail too: no zip may look complete.
func TestExportWrongKeyFails(t *testing.T) {
	right := cmstest.NewPKI(t, t.TempDir(), "right")
	wrong := cmstest.NewPKI(t, t.TempDir(), "wrong")
	root := t.TempDir()
	r := sampleRecordings()[1]
	dir := archivetest.Write(t, root, r, right.CertFile)
	zw := NewWriter(io.Discard, Options{Key: wrong.Key, Cert: wrong.Cert})
	_, err := zw.Add(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), r.ID) || !strings.Contains(err.Error(), "m-H.mp3") || !errors.Is(err, cms.ErrNoRecipient) {
		t.Fatalf("Add with the wrong key: %v", err)
	}
	if err := zw.Close(); err == nil {
		t.Error("Close after a failed Add succeeded")
	}
}

// A recording.json whose id could escape the zip's folder is refused.
func TestExportRefusesUnsafeID(t *testing.T) {
	dir := t.TempDir()
	doc := `{"id":"../../etc","startTime":"2018-02-12T19:01:07Z","mediaFiles":[]}`
	if err := os.WriteFile(filepath.Join(dir, "recording.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWriter(io.Discard, Options{}).Add(context.Background(), dir); err == nil {
		t.Fatal("unsafe id accepted")
	}
}

func TestPlainName(t *testing.T) {
	for _, c := range []struct{ id, typ, want string }{
		{"a.mp3", "audio/mp3", "a.mp3"},
		{"a", "audio/mpeg", "a.mp3"},
		{"a", "video/mp4", "a.mp4"},
		{"a.MP4", "video/mp4", "a.MP4"},
		{"a", "application/x-unknown", "a.bin"},
		{"a.ogg", "", "a.ogg"},
		{"a", "audio/wav; codecs=1", "a.wav"},
	} {
		if got := PlainName(archive.MediaInfo{ID: c.id, Type: c.typ}); got != c.want {
			t.Errorf("PlainName(%q, %q) = %q, want %q", c.id, c.typ, got, c.want)
		}
	}
}

func TestFilter(t *testing.T) {
	info := archive.Info{ID: "X", Start: start, ANI: "+4930123", Agents: []string{"a1", "a2"}}
	for _, c := range []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{From: start}, true},
		{Filter{From: start.Add(time.Second)}, false},
		{Filter{To: start}, false},
		{Filter{To: start.Add(time.Millisecond)}, true},
		{Filter{IDs: []string{"Y", "X"}}, true},
		{Filter{IDs: []string{"Y"}}, false},
		{Filter{Agent: "a2"}, true},
		{Filter{Agent: "a"}, false},
		{Filter{ANI: "+49"}, true},
		{Filter{ANI: "49"}, false},
	} {
		if got := c.f.Match(info); got != c.want {
			t.Errorf("%+v.Match = %v, want %v", c.f, got, c.want)
		}
	}
}

type zipEntries struct {
	names []string
	data  map[string][]byte
}

func readZip(t *testing.T, name string) zipEntries {
	t.Helper()
	zr, err := zip.OpenReader(name)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	z := zipEntries{data: map[string][]byte{}}
	for _, f := range zr.File {
		if f.Flags&0x8 == 0 {
			t.Errorf("%s written without a data descriptor", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		z.names = append(z.names, f.Name)
		z.data[f.Name] = b
	}
	return z
}

// checkSums checks that SHA256SUMS lists every other entry exactly once
// with its sha256.
func checkSums(t *testing.T, z zipEntries) {
	t.Helper()
	listed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(z.data[SumsName])))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		data, in := z.data[name]
		switch {
		case !ok || !in:
			t.Errorf("SHA256SUMS line %q names no entry", sc.Text())
		case sum != hexSum(data):
			t.Errorf("SHA256SUMS: %s has %s, entry hashes to %s", name, sum, hexSum(data))
		}
		listed[name] = true
	}
	for _, name := range z.names {
		if name != SumsName && !listed[name] {
			t.Errorf("SHA256SUMS lacks %s", name)
		}
	}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	requireTool(t, "pdftotext")
	in := filepath.Join(t.TempDir(), "call-info.pdf")
	writeFile(t, in, pdf)
	out := run(t, "pdftotext", "-layout", in, "-")
	if pages := run(t, "pdfinfo", in); !strings.Contains(pages, "Pages:") || !strings.Contains(strings.Join(strings.Fields(pages), " "), "Pages: 1") {
		t.Errorf("call-info.pdf is not one page:\n%s", pages)
	}
	return out
}

// renderPDF renders the page to PNG as a test artifact ($RCBS_ARTIFACTS,
// else the test's temp folder) so that a person can look at it.
func renderPDF(t *testing.T, pdf []byte) {
	t.Helper()
	requireTool(t, "pdftoppm")
	dir := os.Getenv("RCBS_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "call-info.pdf")
	writeFile(t, in, pdf)
	run(t, "pdftoppm", "-png", "-r", "80", "-singlefile", in, filepath.Join(dir, "call-info"))
	st, err := os.Stat(filepath.Join(dir, "call-info.png"))
	if err != nil || st.Size() < 1000 {
		t.Fatalf("rendered page: %v", err)
	}
	t.Logf("rendered page: %s", filepath.Join(dir, "call-info.png"))
}

// requireTool skips without the tool, except under CI=true where the
// test must run.
func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (scripts/test installs it)", name)
		}
		t.Skipf("%s is missing", name)
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Decrypted names that would collide keep the stored name: a zip never
// holds two entries of one name.
func TestExportNameCollision(t *testing.T) {
	pki := cmstest.NewPKI(t, t.TempDir(), "rec")
	root := t.TempDir()
	r := archivetest.Recording{ID: "C", Start: start, Duration: time.Second, Media: []archivetest.Media{
		{ID: "a", Type: "audio/mp3", Plain: []byte("one")},
		{ID: "a.mp3", Type: "audio/mp3", Plain: []byte("two")},
		{ID: "call-info.pdf", Type: "application/x-unknown", Plain: []byte("three")},
	}}
	archivetest.Write(t, root, r, pki.CertFile)
	entries := readZip(t, writeZip(t, root, Options{Key: pki.Key}))
	folder := "2018-02-12_19-01-07_C/"
	for name, want := range map[string]string{"a.mp3": "one", "a.mp3.bin": "two", "call-info.pdf.bin": "three"} {
		if got := string(entries.data[folder+name]); got != want {
			t.Errorf("%s = %q, want %q; entries %v", name, got, want, entries.names)
		}
	}
	checkSums(t, entries)
}

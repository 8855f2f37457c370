package decrypt

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/cms/cmstest"
	"github.com/rcbs/rcbs/internal/atomicfile"
)

// tree is a backup folder made for a test: path (slash-separated, relative)
// -> plaintext of each *.bin, and the raw files.
type tree struct {
	root  string
	plain map[string][]byte
}

func newPKI(t *testing.T) cmstest.PKI { return cmstest.NewPKI(t, t.TempDir(), "alice") }

// makeTree writes encrypted files (cms.Encrypt, checked against openssl in
// package cms) and recording.json files under a new folder.
func makeTree(t *testing.T, p cmstest.PKI, files ...string) tree {
	t.Helper()
	tr := tree{root: t.TempDir(), plain: map[string][]byte{}}
	for _, f := range files {
		full := filepath.Join(tr.root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		var data []byte
		if strings.HasSuffix(f, ".bin") {
			tr.plain[f] = randBytes(t, 1000+len(f)*37)
			data = encrypt(t, p.Cert, tr.plain[f])
		} else {
			data = []byte(`{"id":"` + f + `"}`)
		}
		if err := os.WriteFile(full, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

func encrypt(t *testing.T, cert *x509.Certificate, plain []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := cms.Encrypt(&b, bytes.NewReader(plain), int64(len(plain)), []*x509.Certificate{cert}, cms.AES128CBC, rand.Reader); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func randBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// listFiles returns every file under dir, slash-separated and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunBeside(t *testing.T) {
	p := newPKI(t)
	tr := makeTree(t, p, "2018/02/12/19/REC1/m1.mp3.bin", "2018/02/12/19/REC1/recording.json", "2018/02/13/00/REC2/m2.mp4.bin")
	sum, err := Run(context.Background(), Options{Key: p.Key, Paths: []string{tr.root}})
	if err != nil || sum.Decrypted != 2 || sum.Failed != 0 || sum.Copied != 0 {
		t.Fatalf("Run: %+v, %v", sum, err)
	}
	want := []string{"2018/02/12/19/REC1/m1.mp3", "2018/02/12/19/REC1/m1.mp3.bin", "2018/02/12/19/REC1/recording.json",
		"2018/02/13/00/REC2/m2.mp4", "2018/02/13/00/REC2/m2.mp4.bin"}
	if got := listFiles(t, tr.root); !slices.Equal(got, want) {
		t.Fatalf("tree:\n%v\nwant\n%v", got, want)
	}
	var total int64
	for f, plain := range tr.plain {
		out := filepath.Join(tr.root, filepath.FromSlash(strings.TrimSuffix(f, ".bin")))
		if !bytes.Equal(readFile(t, out), plain) {
			t.Errorf("%s differs from the plaintext", out)
		}
		checkPerm(t, out, 0o600)
		total += int64(len(plain))
	}
	if sum.Bytes != total {
		t.Errorf("Bytes %d, want %d", sum.Bytes, total)
	}
}

func checkPerm(t *testing.T, name string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got&^want != 0 {
		t.Errorf("%s: mode %v, want at most %v", name, got, want)
	}
}

func TestRunOutMirrors(t *testing.T) {
	p := newPKI(t)
	a := makeTree(t, p, "2018/02/12/19/REC1/m1.mp3.bin", "2018/02/12/19/REC1/recording.json", "2018/02/12/19/REC1/.rcbs-tmp-123")
	b := makeTree(t, p, "x/single.mp3.bin")
	out := filepath.Join(t.TempDir(), "plain")
	single := filepath.Join(b.root, "x", "single.mp3.bin")
	sum, err := Run(context.Background(), Options{Key: p.Key, Cert: p.Cert, Out: out, Jobs: 2,
		Paths: []string{filepath.Join(a.root, "2018"), single}})
	if err != nil || sum.Decrypted != 2 || sum.Copied != 1 {
		t.Fatalf("Run: %+v, %v", sum, err)
	}
	want := []string{"02/12/19/REC1/m1.mp3", "02/12/19/REC1/recording.json", "single.mp3"}
	if got := listFiles(t, out); !slices.Equal(got, want) {
		t.Fatalf("out tree %v, want %v", got, want)
	}
	if !bytes.Equal(readFile(t, filepath.Join(out, "single.mp3")), b.plain["x/single.mp3.bin"]) {
		t.Error("single.mp3 differs")
	}
	if !bytes.Equal(readFile(t, filepath.Join(out, "02/12/19/REC1/recording.json")),
		readFile(t, filepath.Join(a.root, "2018/02/12/19/REC1/recording.json"))) {
		t.Error("recording.json differs")
	}
	checkPerm(t, filepath.Join(out, "02/12/19/REC1"), 0o700)
	if got := listFiles(t, a.root); len(got) != 3 {
		t.Errorf("the input tree changed: %v", got)
	}
}

// TestRunOutInsidePath: `-out root/plain root` twice must not walk its own
// output (the second run finds the same inputs and an identical recording.json).
func TestRunOutInsidePath(t *testing.T) {
	p := newPKI(t)
	tr := makeTree(t, p, "R/m.bin", "R/recording.json")
	out := filepath.Join(tr.root, "plain")
	for i, force := range []bool{false, true} {
		sum, err := Run(context.Background(), Options{Key: p.Key, Out: out, Force: force, Paths: []string{tr.root}})
		if err != nil || sum.Decrypted != 1 || sum.Copied != 1 {
			t.Fatalf("run %d: %+v, %v", i, sum, err)
		}
	}
	if got := listFiles(t, out); !slices.Equal(got, []string{"R/m", "R/recording.json"}) {
		t.Fatalf("out tree %v", got)
	}
}

// TestRunSkipsExisting: an existing output is complete (outputs are only
// renamed into place), so a re-run keeps it, counts it as skipped and does
// not fail; -force replaces it (spec §8).
func TestRunSkipsExisting(t *testing.T) {
	p := newPKI(t)
	tr := makeTree(t, p, "R/m.bin", "R/n.bin")
	dst := filepath.Join(tr.root, "R", "m")
	if err := os.WriteFile(dst, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), Options{Key: p.Key, Paths: []string{tr.root}})
	if err != nil || sum.Skipped != 1 || sum.Decrypted != 1 || sum.Failed != 0 {
		t.Fatalf("without -force: %+v, %v", sum, err)
	}
	if string(readFile(t, dst)) != "keep me" {
		t.Fatal("existing output overwritten without -force")
	}
	sum, err = Run(context.Background(), Options{Key: p.Key, Paths: []string{tr.root}})
	if err != nil || sum.Skipped != 2 || sum.Decrypted != 0 {
		t.Fatalf("second run: %+v, %v", sum, err)
	}
	sum, err = Run(context.Background(), Options{Key: p.Key, Force: true, Paths: []string{tr.root}})
	if err != nil || sum.Decrypted != 2 || sum.Skipped != 0 {
		t.Fatalf("with -force: %+v, %v", sum, err)
	}
	if !bytes.Equal(readFile(t, dst), tr.plain["R/m.bin"]) {
		t.Fatal("-force did not overwrite")
	}
}

// TestWriteAtomicNoReplace: an output that appears while the file is being
// decrypted (another decrypt, an admin's copy) survives: the commit does
// not replace it, and the file counts as skipped.
func TestWriteAtomicNoReplace(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "m")
	b := atomicfile.NewBatch(filepath.Dir(dst))
	_, err := writeAtomic(context.Background(), b, dst, false, func(w io.Writer) error {
		if _, err := w.Write([]byte("decrypted")); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte("intruder"), 0o600)
	})
	if !errors.Is(err, errOutputExists) {
		t.Fatalf("got %v, want errOutputExists", err)
	}
	if got := string(readFile(t, dst)); got != "intruder" {
		t.Fatalf("output replaced: %q", got)
	}
	if _, err := writeAtomic(context.Background(), b, dst, true, func(w io.Writer) error {
		_, err := w.Write([]byte("decrypted"))
		return err
	}); err != nil || string(readFile(t, dst)) != "decrypted" {
		t.Fatalf("force: %v", err)
	}
	if files := listFiles(t, filepath.Dir(dst)); !slices.Equal(files, []string{"m"}) {
		t.Fatalf("left behind: %v", files)
	}
}

// TestRunKeyCertMismatch: a key that does not belong to the certificate
// fails once, before any file is touched, not once per file.
func TestRunKeyCertMismatch(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	tr := makeTree(t, p, "R/m.bin", "S/n.bin")
	out := filepath.Join(t.TempDir(), "out")
	prog := &cancelAfter{n: -1}
	sum, err := Run(context.Background(), Options{Key: other.Key, Cert: p.Cert, Out: out, Paths: []string{tr.root}, Progress: prog})
	if !errors.Is(err, ErrKeyMismatch) || errors.Is(err, ErrSomeFailed) || sum.Decrypted+sum.Failed+sum.Skipped != 0 || prog.total != 0 {
		t.Fatalf("got %+v, %v (progress total %d)", sum, err, prog.total)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("out folder touched: %v", err)
	}
}

// TestRunBadFilesAmongGood: each bad file fails on its own line, leaves no
// output and no temporary file; the good ones are done.
func TestRunBadFilesAmongGood(t *testing.T) {
	p, other := newPKI(t), newPKI(t)
	tr := makeTree(t, p, "A/good1.bin", "B/good2.bin", "C/good3.bin")
	good := encrypt(t, p.Cert, randBytes(t, 5000))
	bad := map[string][]byte{
		"C/garbage.bin":   randBytes(t, 3000),
		"C/empty.bin":     nil,
		"C/truncated.bin": good[:len(good)-100],
		"C/other.bin":     encrypt(t, other.Cert, randBytes(t, 100)),
		"C/badpad.bin":    append(bytes.Clone(good[:len(good)-16]), randBytes(t, 16)...),
	}
	for name, data := range bad {
		if err := os.WriteFile(filepath.Join(tr.root, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, out := range []string{"", filepath.Join(t.TempDir(), "out")} {
		sum, err := Run(context.Background(), Options{Key: p.Key, Cert: p.Cert, Out: out, Jobs: 3, Paths: []string{tr.root}})
		if !errors.Is(err, ErrSomeFailed) || sum.Decrypted != 3 || sum.Failed != len(bad) {
			t.Fatalf("out %q: %+v, %v", out, sum, err)
		}
		for _, fe := range sum.Errors {
			rel, _ := filepath.Rel(tr.root, fe.Path)
			if _, ok := bad[filepath.ToSlash(rel)]; !ok || strings.Contains(fe.Error(), "\n") {
				t.Errorf("unexpected failure %q", fe)
			}
		}
		dir := tr.root
		if out != "" {
			dir = out
		}
		for _, f := range listFiles(t, dir) {
			if strings.Contains(f, tempPrefix) || strings.HasPrefix(f, "C/") && !strings.HasSuffix(f, ".bin") && f != "C/good3" {
				t.Errorf("left behind: %s", f)
			}
		}
	}
}

func TestRunPathErrors(t *testing.T) {
	p := newPKI(t)
	tr := makeTree(t, p, "R/m.bin", "R/plain.txt")
	tests := []struct {
		name  string
		paths []string
		out   string
		fails int
	}{
		{"missing path", []string{filepath.Join(tr.root, "nope")}, "", 1},
		{"file not .bin", []string{filepath.Join(tr.root, "R/plain.txt")}, "", 1},
		{"same output twice", []string{tr.root, tr.root}, t.TempDir(), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := Run(context.Background(), Options{Key: p.Key, Out: tt.out, Paths: tt.paths, Force: true})
			if !errors.Is(err, ErrSomeFailed) || sum.Failed != tt.fails {
				t.Fatalf("%+v, %v", sum, err)
			}
		})
	}
}

// cancelAfter cancels the run after n files.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
	total  int
	done   int
}

func (c *cancelAfter) Total(files int, _ int64) { c.total = files }
func (c *cancelAfter) FileDone(string, int64, error) {
	if c.done++; c.done == c.n {
		c.cancel()
	}
}

func TestRunCancel(t *testing.T) {
	p := newPKI(t)
	// More files than the workers and committers hold in flight (2 + 16 +
	// 16), so that the cancel after two leaves some never started.
	var files []string
	for i := range 80 {
		files = append(files, fmt.Sprintf("d%02d/m.bin", i))
	}
	tr := makeTree(t, p, files...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog := &cancelAfter{n: 2, cancel: cancel}
	sum, err := Run(ctx, Options{Key: p.Key, Jobs: 2, Paths: []string{tr.root}, Progress: prog})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if sum.Failed != 0 || sum.Decrypted >= len(files) || prog.total != len(files) {
		t.Fatalf("summary %+v after cancel (total %d)", sum, prog.total)
	}
	outputs := 0
	for _, f := range listFiles(t, tr.root) {
		if strings.Contains(f, tempPrefix) {
			t.Errorf("temporary file left: %s", f)
		}
		if !strings.HasSuffix(f, ".bin") {
			outputs++
		}
	}
	if outputs != sum.Decrypted {
		t.Errorf("%d outputs on disk, summary says %d", outputs, sum.Decrypted)
	}
}

func TestRunRejects(t *testing.T) {
	p := newPKI(t)
	if _, err := Run(context.Background(), Options{Paths: []string{"."}}); err == nil {
		t.Error("no key: no error")
	}
	if _, err := Run(context.Background(), Options{Key: p.Key}); err == nil {
		t.Error("no paths: no error")
	}
}

//go:build unix

package e2e

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cloudsim"
)

// verified is the numbers of the §13 summary line.
type verified struct {
	recordings, files          int
	bytes                      int64
	missing, corrupt, unlisted int
	signatures                 string
}

var verifiedRE = regexp.MustCompile(`^verified: recordings (\d+), files (\d+), bytes (\d+), missing (\d+), corrupt (\d+), unlisted (\d+), signatures (ok|broken|absent|unsigned), (\S+)$`)

// parseVerified reads the last summary line on stdout (a repair prints one
// before and one after).
func parseVerified(t *testing.T, r result) verified {
	t.Helper()
	var last []string
	for line := range strings.Lines(r.stdout) {
		if m := verifiedRE.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil {
			last = m
		}
	}
	if last == nil {
		t.Fatalf("no verified: summary line in %s", r)
	}
	n := func(i int) int { v, _ := strconv.Atoi(last[i]); return v }
	return verified{recordings: n(1), files: n(2), bytes: int64(n(3)), missing: n(4), corrupt: n(5), unlisted: n(6), signatures: last[7]}
}

// writeEd25519 writes a manifest key pair (PKCS#8 / PKIX PEM, as openssl
// genpkey and pkey -pubout write them) and returns the files and the key.
func writeEd25519(t *testing.T, dir, name string) (priv, pub string, key ed25519.PrivateKey) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	skDER, _ := x509.MarshalPKCS8PrivateKey(sk)
	pkDER, _ := x509.MarshalPKIXPublicKey(pk)
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	writeFile(t, priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER}))
	writeFile(t, pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkDER}))
	return priv, pub, sk
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies a whole archive (cp -a keeps modes and names).
func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	return to
}

// verifyArchive is a backed-up archive: 12 recordings over the two days
// before t0, signed with key.
type verifyArchive struct {
	w            *world
	target       string
	keyFile, pub string
	recs         []cloudsim.Recording
}

func newVerifyArchive(t *testing.T, seed int64) *verifyArchive {
	t.Helper()
	w := newWorld(t, cloudsim.Options{Recordings: 12, Seed: seed, Start: t0().Add(-2 * day), End: t0()})
	a := &verifyArchive{w: w, target: filepath.Join(t.TempDir(), "target"), recs: w.cloud.Recordings()}
	a.keyFile, a.pub, _ = writeEd25519(t, t.TempDir(), "manifest")
	w.run(t, a.config(t, a.target), t0())
	return a
}

// config is the archive's configuration for target: the manifest key
// signs, the public key checks.
func (a *verifyArchive) config(t *testing.T, target string, kv ...string) string {
	return a.w.writeConfig(t, target, relative(2, append([]string{"manifestKey", a.keyFile, "verifyKey", a.pub}, kv...)...)...)
}

func (a *verifyArchive) verify(t *testing.T, target string, args ...string) (result, verified) {
	t.Helper()
	r := a.w.rcbs(t, append([]string{"verify", "-config", a.config(t, target), "-now", t0().Format(time.RFC3339)}, args...)...)
	return r, parseVerified(t, r)
}

// mediaPath is the relative path of recording i's first media file.
func (a *verifyArchive) mediaPath(i int) string {
	r := a.recs[i]
	return filepath.ToSlash(filepath.Join(recDir(r), r.Media[0].MediaID+".bin"))
}

func (a *verifyArchive) files() int {
	n := 0
	for _, r := range a.recs {
		n += 1 + len(r.Media)
	}
	return n
}

// TestVerifyClean: a fresh archive passes, with the manifests the run wrote
// listing every file and the chain signed.
func TestVerifyClean(t *testing.T) {
	t.Parallel()
	a := newVerifyArchive(t, 161)
	r, v := a.verify(t, a.target)
	if r.code != 0 || v.recordings != len(a.recs) || v.files != a.files() || v.missing+v.corrupt+v.unlisted != 0 || v.signatures != "ok" {
		t.Fatalf("clean archive: want exit 0, %d recordings, %d files, no problem, signatures ok; got %+v\n%s", len(a.recs), a.files(), v, r)
	}
	lines := 0
	for _, day := range []string{"2024-03-08", "2024-03-09"} {
		b, err := os.ReadFile(filepath.Join(a.target, ".rcbs", "manifest", day+".sha256"))
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
		if _, err := os.Stat(filepath.Join(a.target, ".rcbs", "manifest", day+".sig")); err != nil {
			t.Errorf("day %s not signed: %v", day, err)
		}
	}
	if lines != a.files() {
		t.Errorf("manifests list %d files, the archive has %d", lines, a.files())
	}
	// A second run adds nothing and leaves the chain whole.
	a.w.run(t, a.config(t, a.target), t0())
	if r, v := a.verify(t, a.target); r.code != 0 || v.signatures != "ok" {
		t.Errorf("after a second run: %+v\n%s", v, r)
	}
}

// TestVerifyFooled: each way of altering an archive is reported on a line
// that names the culprit, counted in its column, and exits 1.
func TestVerifyFooled(t *testing.T) {
	t.Parallel()
	a := newVerifyArchive(t, 162)
	rec0 := a.recs[0]
	day0 := archive.Day(rec0.StartTime)
	manifest := func(target, day string) string { return filepath.Join(target, ".rcbs", "manifest", day+".sha256") }
	tests := []struct {
		name   string
		tamper func(t *testing.T, target string)
		line   string // a problem line must contain it
		check  func(v verified) bool
	}{
		{"flipped byte", func(t *testing.T, target string) { flipByte(t, filepath.Join(target, a.mediaPath(1)), 0.5) },
			"corrupt: " + a.mediaPath(1) + ": sha256 ", func(v verified) bool { return v.corrupt == 1 && v.missing+v.unlisted == 0 && v.signatures == "ok" }},
		{"truncated", func(t *testing.T, target string) { truncateHalf(t, filepath.Join(target, a.mediaPath(2))) },
			"corrupt: " + a.mediaPath(2) + ": size ", func(v verified) bool { return v.corrupt == 1 && v.missing+v.unlisted == 0 }},
		{"deleted file", func(t *testing.T, target string) { remove(t, filepath.Join(target, a.mediaPath(3))) },
			"missing: " + a.mediaPath(3), func(v verified) bool { return v.missing == 1 && v.corrupt+v.unlisted == 0 }},
		{"deleted recording folder", func(t *testing.T, target string) { remove(t, filepath.Join(target, recDir(a.recs[4]))) },
			"missing: recording " + a.recs[4].ID + ": its folder " + filepath.ToSlash(recDir(a.recs[4])) + " is gone",
			func(v verified) bool { return v.missing == 1+len(a.recs[4].Media) && v.recordings == len(a.recs)-1 }},
		{"edited recording.json", func(t *testing.T, target string) {
			p := filepath.Join(target, recDir(a.recs[5]), "recording.json")
			b, _ := os.ReadFile(p)
			writeFile(t, p, bytes.Replace(b, []byte(`"id"`), []byte(`"id" `), 1))
		}, "corrupt: " + filepath.ToSlash(recDir(a.recs[5])) + "/recording.json: sha256 ", func(v verified) bool { return v.corrupt == 1 }},
		{"recording.json of another recording", func(t *testing.T, target string) {
			b, _ := os.ReadFile(filepath.Join(target, recDir(a.recs[6]), "recording.json"))
			writeFile(t, filepath.Join(target, recDir(a.recs[7]), "recording.json"), b)
		}, "corrupt: " + filepath.ToSlash(recDir(a.recs[7])) + "/recording.json: its id", func(v verified) bool { return v.corrupt >= 1 }},
		{"edited manifest line", func(t *testing.T, target string) {
			p := manifest(target, day0)
			b, _ := os.ReadFile(p)
			i := bytes.Index(b, []byte("  "+a.mediaPath(0)))
			if i < 64 {
				t.Fatalf("%s not in %s", a.mediaPath(0), p)
			}
			b[i-1] = map[bool]byte{true: '1', false: '0'}[b[i-1] == '0'] // another hex digit: still a well-formed line
			writeFile(t, p, b)
		}, "signature " + day0 + ": does not verify", func(v verified) bool { return v.corrupt == 1 && v.signatures == "broken" }},
		{"deleted day manifest", func(t *testing.T, target string) { remove(t, manifest(target, day0)) },
			"signature " + day0 + ": its manifest " + day0 + ".sha256 is gone",
			func(v verified) bool { return v.unlisted == dayFiles(a.recs, day0) && v.signatures == "broken" }},
		{"deleted day manifest and signature", func(t *testing.T, target string) {
			remove(t, manifest(target, day0))
			remove(t, strings.TrimSuffix(manifest(target, day0), ".sha256")+".sig")
		}, "unlisted: " + a.mediaPath(0) + " (in no manifest)", func(v verified) bool { return v.unlisted == dayFiles(a.recs, day0) && v.signatures == "broken" }},
		{"re-signed with another key", func(t *testing.T, target string) { resign(t, filepath.Join(target, ".rcbs", "manifest")) },
			"signature " + day0 + ": does not verify", func(v verified) bool { return v.signatures == "broken" && v.missing+v.corrupt+v.unlisted == 0 }},
		{"file added by hand", func(t *testing.T, target string) {
			writeFile(t, filepath.Join(target, recDir(a.recs[8]), "extra.bin"), []byte("not from the cloud"))
			writeFile(t, filepath.Join(target, filepath.Dir(recDir(a.recs[8])), "notes.txt"), []byte("hello"))
		}, "unlisted: " + filepath.ToSlash(recDir(a.recs[8])) + "/extra.bin (in no manifest)", func(v verified) bool { return v.unlisted == 2 && v.corrupt+v.missing == 0 }},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			target := copyTree(t, a.target)
			tt.tamper(t, target)
			r, v := a.verify(t, target)
			if r.code != 1 || !strings.Contains(r.stdout, tt.line) || !tt.check(v) {
				t.Errorf("want exit 1 and a line with %q; got %+v\n%s", tt.line, v, r)
			}
		})
	}
	// The original is untouched by all of it.
	if r, _ := a.verify(t, a.target); r.code != 0 {
		t.Errorf("the clean archive fails: %s", r)
	}
}

// dayFiles counts the files of the recordings that start on day.
func dayFiles(recs []cloudsim.Recording, day string) int {
	n := 0
	for _, r := range recs {
		if archive.Day(r.StartTime) == day {
			n += 1 + len(r.Media)
		}
	}
	return n
}

func flipByte(t *testing.T, path string, at float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[int(float64(len(b)-1)*at)] ^= 0x40
	writeFile(t, path, b)
}

func truncateHalf(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("nothing to remove: %v", err)
	}
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

// resign signs the whole chain again with a new key, as a forger who
// rewrote the manifests would.
func resign(t *testing.T, dir string) {
	t.Helper()
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	days, err := archive.ManifestDays(dir)
	if err != nil || len(days) == 0 {
		t.Fatalf("days %q: %v", days, err)
	}
	var prev []byte
	for _, day := range days {
		man, _ := os.ReadFile(filepath.Join(dir, day+".sha256"))
		pruned, _ := os.ReadFile(filepath.Join(dir, day+".pruned"))
		prev = ed25519.Sign(other, archive.SignatureMessage(day, prev, sha(man), sha(pruned)))
		writeFile(t, filepath.Join(dir, day+".sig"), []byte(base64.StdEncoding.EncodeToString(prev)+"\n"))
	}
}

// TestVerifyKey: -key decrypts every media file to its end, catching a
// file whose bytes were already bad when they were listed (a broken
// padding with a matching manifest line), which the sha256 cannot.
func TestVerifyKey(t *testing.T) {
	t.Parallel()
	a := newVerifyArchive(t, 163)
	keyPEM := filepath.Join(t.TempDir(), "recordings.key")
	writeFile(t, keyPEM, a.w.cloud.KeyPEM())
	if r, v := a.verify(t, a.target, "-key", keyPEM); r.code != 0 || v.corrupt != 0 {
		t.Fatalf("-key on a clean archive: %+v\n%s", v, r)
	}
	target := copyTree(t, a.target)
	bad := a.mediaPath(0)
	flipByte(t, filepath.Join(target, bad), 1) // the last byte: the padding block
	relist(t, target, bad)
	if r, v := a.verify(t, target); r.code != 0 || v.corrupt != 0 {
		t.Fatalf("premise: without -key the relisted file passes; got %+v\n%s", v, r)
	}
	r, v := a.verify(t, target, "-key", keyPEM)
	if r.code != 1 || v.corrupt != 1 || !strings.Contains(r.stdout, "corrupt: "+bad+": does not decrypt") {
		t.Errorf("-key: want the broken file named; got %+v\n%s", v, r)
	}
}

// relist gives path's manifest line the sha256 of its bytes now (as if the
// bad bytes had been downloaded so) and drops the signatures.
func relist(t *testing.T, target, path string) {
	t.Helper()
	dir := filepath.Join(target, ".rcbs", "manifest")
	b, err := os.ReadFile(filepath.Join(target, path))
	if err != nil {
		t.Fatal(err)
	}
	days, _ := archive.ManifestDays(dir)
	for _, day := range days {
		p := filepath.Join(dir, day+".sha256")
		m, _ := os.ReadFile(p)
		if i := bytes.Index(m, []byte("  "+path+"\n")); i >= 64 {
			copy(m[i-64:], fmt.Sprintf("%x", sha(b)))
			writeFile(t, p, m)
			for _, d := range days { // unsigned: the check below is about -key
				remove(t, filepath.Join(dir, d+".sig"))
			}
			return
		}
	}
	t.Fatalf("%s is in no manifest", path)
}

// TestVerifyRemoteAndRepair: the cloud gets recordings the archive lacks
// (late arrivals in a period the backup already passed): -remote names
// each; -repair fetches them and a corrupt file back through the engine,
// and the archive verifies clean afterwards.
func TestVerifyRemoteAndRepair(t *testing.T) {
	t.Parallel()
	a := newVerifyArchive(t, 164)
	if err := a.w.cloud.Add(2, t0().Add(-36*hour), t0().Add(-30*hour)); err != nil {
		t.Fatal(err)
	}
	all := a.w.cloud.Recordings()
	var late []cloudsim.Recording
	for _, r := range all {
		if !slices.ContainsFunc(a.recs, func(o cloudsim.Recording) bool { return o.ID == r.ID }) {
			late = append(late, r)
		}
	}
	if len(late) != 2 {
		t.Fatalf("premise: 2 late recordings, got %d", len(late))
	}
	if r, v := a.verify(t, a.target); r.code != 0 || v.missing != 0 {
		t.Fatalf("premise: the local check passes; got %+v\n%s", v, r)
	}
	r, v := a.verify(t, a.target, "-remote")
	if r.code != 1 || v.missing != 2 {
		t.Errorf("-remote: want exit 1, missing 2; got %+v\n%s", v, r)
	}
	for _, l := range late {
		if !strings.Contains(r.stdout, "gap: recording "+l.ID+" ") {
			t.Errorf("-remote does not name %s:\n%s", l.ID, r)
		}
	}
	flipByte(t, filepath.Join(a.target, a.mediaPath(1)), 0.3)
	r, v = a.verify(t, a.target, "-remote", "-repair")
	if r.code != 0 || v.missing+v.corrupt+v.unlisted != 0 || v.recordings != len(all) || v.signatures != "ok" {
		t.Fatalf("-repair: want exit 0 and a whole archive of %d recordings; got %+v\n%s", len(all), v, r)
	}
	if !strings.Contains(r.stdout, "repair: moved "+filepath.ToSlash(recDir(a.recs[1]))+" aside") {
		t.Errorf("-repair does not say what it moved aside:\n%s", r)
	}
	checkTree(t, a.target, treeWant{recs: all, state: t0()})
}

// TestVerifyUnsignedAndAdopt: an archive written before manifests existed
// is checked by structure and size and reported unsigned; -adopt lists it
// as it stands and signs it, after which every check applies.
func TestVerifyUnsignedAndAdopt(t *testing.T) {
	t.Parallel()
	a := newVerifyArchive(t, 165)
	remove(t, filepath.Join(a.target, ".rcbs"))
	r, v := a.verify(t, a.target)
	if r.code != 0 || v.signatures != "unsigned" || v.recordings != len(a.recs) || v.unlisted != 0 {
		t.Fatalf("legacy archive: want exit 0, unsigned; got %+v\n%s", v, r)
	}
	legacy := copyTree(t, a.target)
	truncateHalf(t, filepath.Join(legacy, a.mediaPath(0)))
	if r, v := a.verify(t, legacy); r.code != 1 || v.corrupt != 1 || !strings.Contains(r.stdout, "corrupt: "+a.mediaPath(0)+": size ") {
		t.Errorf("legacy archive, truncated file: %+v\n%s", v, r)
	}
	r, v = a.verify(t, a.target, "-adopt")
	if r.code != 0 || v.signatures != "ok" || !strings.Contains(r.stdout, fmt.Sprintf("adopted: %d files", a.files())) {
		t.Fatalf("-adopt: %+v\n%s", v, r)
	}
	flipByte(t, filepath.Join(a.target, a.mediaPath(0)), 0.5)
	if r, v := a.verify(t, a.target); r.code != 1 || v.corrupt != 1 {
		t.Errorf("adopted archive, flipped byte: %+v\n%s", v, r)
	}
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

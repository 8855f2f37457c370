package backup

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/cms/cmstest"
	"github.com/rcbs/rcbs/metadata"
)

// Tests written for mutants no other test reached (TESTING.md, issue 18).

// TestMediaCompleteEmpty: media the metadata says are empty are complete
// as an empty file; media of unknown size (-1) need at least a byte.
func TestMediaCompleteEmpty(t *testing.T) {
	w := newWorld(t)
	e := newEngine(w.config(), w.deps())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "E.bin"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size int64
		want bool
	}{{0, true}, {-1, false}, {5, false}} {
		if got := e.mediaComplete(dir, metadata.MediaFile{MediaID: "E", Size: tc.size}); got != tc.want {
			t.Errorf("empty file, metadata size %d: complete %v, want %v", tc.size, got, tc.want)
		}
	}
}

// partsStore answers HeadObject with partNumber as a store that keeps the
// parts does (each part's size), or as one that ignores partNumber (the
// whole object every time).
type partsStore struct {
	sizes   []int64
	ignores bool
	failAt  int // this part's HEAD fails
}

func (p partsStore) Head(_ context.Context, _ GetInput, part int) (*Object, error) {
	if part == p.failAt {
		return nil, errors.New("connection reset")
	}
	if p.ignores {
		var total int64
		for _, s := range p.sizes {
			total += s
		}
		return &Object{Length: total}, nil
	}
	return &Object{Length: p.sizes[part-1]}, nil
}

// TestPartSizes: the sizes of a multipart object's parts are read one by
// one and must add up to the object; a store that ignores partNumber gives
// no sizes (the object is then not checked part by part, never wrongly).
func TestPartSizes(t *testing.T) {
	obj := &Object{Size: 5 + 7 + 9, ETag: `"e"`}
	got, err := partSizes(context.Background(), partsStore{sizes: []int64{5, 7, 9}}, GetInput{}, obj, 3)
	if err != nil || len(got) != 3 || got[0] != 5 || got[1] != 7 || got[2] != 9 {
		t.Errorf("sizes %v, %v; want [5 7 9]", got, err)
	}
	got, err = partSizes(context.Background(), partsStore{sizes: []int64{5, 7, 9}, ignores: true}, GetInput{}, obj, 3)
	if got != nil || err != nil {
		t.Errorf("a store ignoring partNumber: %v, %v; want no sizes", got, err)
	}
	_, err = partSizes(context.Background(), partsStore{sizes: []int64{5, 7, 9}, failAt: 2}, GetInput{}, obj, 3)
	if err == nil || !strings.Contains(err.Error(), "upload part 2:") {
		t.Errorf("HEAD of part 2 failed: %v, want an error naming part 2", err)
	}
}

// TestLoadCertErrors: an encryptionCertificate that cannot be read, holds
// no certificate, a broken one or one without an RSA key is refused with
// the key's name and the file.
func TestLoadCertErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ec"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	ecDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ecKey.PublicKey, ecKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert := cmstest.NewPKI(t, dir, "rsa").CertFile
	for _, tc := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.pem"), "encryptionCertificate: open"},
		{"no certificate", write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}})), "no PEM certificate in it"},
		{"broken", write("broken.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 1, 2}})), "encryptionCertificate " + filepath.Join(dir, "broken.pem") + ":"},
		{"not RSA", write("ec.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ecDER})), "not an RSA certificate"},
	} {
		certs, err := loadCert(tc.path)
		if err == nil || certs != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, %v; want an error containing %q", tc.name, certs, err, tc.want)
		}
	}
	certs, err := loadCert(rsaCert)
	if err != nil || len(certs) != 1 {
		t.Errorf("an RSA certificate: %v, %v", certs, err)
	}
	if certs, err := loadCert(""); certs != nil || err != nil {
		t.Errorf("no certificate configured: %v, %v", certs, err)
	}
	if !errors.Is(func() error { _, err := loadCert(filepath.Join(dir, "nope.pem")); return err }(), os.ErrNotExist) {
		t.Error("a missing file's error does not wrap fs.ErrNotExist")
	}
}

// TestMediaCompleteNeedsACertificate: a file that looks like CMS and has
// exactly the size rcbs's own encryption would give is complete only when
// rcbs encrypts (an encryption certificate is set); without one the
// metadata's size is the only measure.
func TestMediaCompleteNeedsACertificate(t *testing.T) {
	w := newWorld(t)
	e := newEngine(w.config(), w.deps())
	if len(e.certs) != 0 {
		t.Fatal("premise: the test world encrypts")
	}
	want, err := cms.EncryptedSize(1000, nil, e.cipher)
	if err != nil {
		t.Fatal(err)
	}
	head := append([]byte{0x30, 0x80}, oidEnvelopedData...)
	data := append(head, make([]byte, int(want)-len(head))...)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "C.bin"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !fileIsCMS(filepath.Join(dir, "C.bin")) {
		t.Fatal("premise: the file does not look like CMS")
	}
	if e.mediaComplete(dir, metadata.MediaFile{MediaID: "C", Size: 1000}) {
		t.Errorf("a %d-byte CMS-looking file taken for 1,000 bytes of media with no certificate set", want)
	}
}

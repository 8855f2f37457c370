package cms

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

func TestEncryptOpenSSLDecrypts(t *testing.T) {
	dir := t.TempDir()
	a, b := cmstest.NewPKI(t, dir, "alice"), cmstest.NewPKI(t, dir, "bob")
	recips := []*x509.Certificate{a.Cert, b.Cert}
	for _, c := range []Cipher{AES128CBC, AES192CBC, AES256CBC, DES3CBC} {
		for _, size := range []int64{0, 1, 15, 16, 17, 100_000, encryptChunk, encryptChunk + 16} {
			plain := randomBytes(t, size)
			var out bytes.Buffer
			if err := Encrypt(&out, bytes.NewReader(plain), size, recips, c, rand.Reader); err != nil {
				t.Fatalf("%v size %d: %v", c, size, err)
			}
			want, err := EncryptedSize(size, recips, c)
			if err != nil || want != int64(out.Len()) {
				t.Errorf("%v size %d: EncryptedSize %d, %v; wrote %d", c, size, want, err, out.Len())
			}
			f := filepath.Join(dir, "f.bin")
			if err := os.WriteFile(f, out.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, p := range []cmstest.PKI{a, b} {
				if got := cmstest.Decrypt(t, f, p.KeyFile); !bytes.Equal(got, plain) {
					t.Errorf("%v size %d key %s: openssl decrypted %d bytes, want %d identical", c, size, p.Cert.Subject, len(got), size)
				}
			}
		}
	}
}

func TestEncryptSizeMismatch(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	tests := []struct {
		name     string
		declared int64
		actual   int
	}{
		{"fewer", 100, 99},
		{"fewer by a chunk", encryptChunk * 2, encryptChunk},
		{"none", 10, 0},
		{"more", 100, 101},
		{"more than zero", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Encrypt(io.Discard, bytes.NewReader(make([]byte, tt.actual)), tt.declared, []*x509.Certificate{p.Cert}, AES128CBC, rand.Reader)
			if !errors.Is(err, ErrSize) {
				t.Fatalf("got %v, want ErrSize", err)
			}
		})
	}
}

// TestEncryptReadError: a reader that fails, before or after giving the
// declared bytes, fails Encrypt with its own error (an I/O error to retry,
// not a size mismatch); one that stalls after them is not waited on forever.
func TestEncryptReadError(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	boom := errors.New("connection reset")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"fails halfway", io.MultiReader(bytes.NewReader(make([]byte, 50)), failReader{boom}), boom},
		{"fails after the declared bytes", io.MultiReader(bytes.NewReader(make([]byte, 100)), failReader{boom}), boom},
		{"stalls after the declared bytes", io.MultiReader(bytes.NewReader(make([]byte, 100)), failReader{nil}), io.ErrNoProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Encrypt(io.Discard, tt.r, 100, []*x509.Certificate{p.Cert}, AES128CBC, rand.Reader)
			if !errors.Is(err, tt.want) || errors.Is(err, ErrSize) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// failReader returns err and no bytes on every Read (0, nil when err is nil).
type failReader struct{ err error }

func (r failReader) Read([]byte) (int, error) { return 0, r.err }

func TestEncryptRejects(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	one := []*x509.Certificate{p.Cert}
	tests := []struct {
		name   string
		size   int64
		recips []*x509.Certificate
		c      Cipher
	}{
		{"no recipients", 1, nil, AES128CBC},
		{"negative size", -1, one, AES128CBC},
		{"unknown cipher", 1, one, Cipher(99)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Encrypt(io.Discard, bytes.NewReader([]byte{1}), tt.size, tt.recips, tt.c, rand.Reader); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestParseCipher(t *testing.T) {
	tests := []struct {
		in   string
		want Cipher
		ok   bool
	}{
		{"AES-128", AES128CBC, true}, {"aes-256", AES256CBC, true}, {"AES192", AES192CBC, true},
		{"DES-EDE3", DES3CBC, true}, {"AES-512", 0, false}, {"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseCipher(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseCipher(%q) = %v, %v", tt.in, got, err)
		}
	}
}

// TestCipherString: a cipher is named as ParseCipher reads it, with the key
// transport after it only when it is not the default.
func TestCipherString(t *testing.T) {
	tests := []struct {
		c    Cipher
		want string
	}{
		{AES128CBC, "AES-128"},
		{DES3CBC, "DES-EDE3"},
		{AES192CBC.WithKeyTransport(OAEPSHA256), "AES-192"},
		{AES256CBC.WithKeyTransport(PKCS1v15), "AES-256 RSA-PKCS1v15"},
		{Cipher(99), "Cipher(99)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("%d: %q, want %q", int(tt.c), got, tt.want)
		}
	}
	for _, c := range []Cipher{AES128CBC, AES192CBC, AES256CBC, DES3CBC} {
		if back, err := ParseCipher(c.String()); err != nil || back != c {
			t.Errorf("ParseCipher(%q) = %v, %v", c.String(), back, err)
		}
	}
}

func randomBytes(t testing.TB, n int64) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncryptKeyTransport: the content key is wrapped with RSA-OAEP
// (SHA-256, MGF1-SHA-256) unless PKCS#1 v1.5 is asked for; openssl and
// Decrypt open both, and EncryptedSize stays exact for both.
func TestEncryptKeyTransport(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	recips := []*x509.Certificate{p.Cert}
	tests := []struct {
		name    string
		c       Cipher
		wantAlg string // in openssl asn1parse's dump of the file
	}{
		{"default", AES256CBC, "rsaesOaep"},
		{"oaep", AES128CBC.WithKeyTransport(OAEPSHA256), "rsaesOaep"},
		{"pkcs1", AES128CBC.WithKeyTransport(PKCS1v15), "rsaEncryption"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := randomBytes(t, 1000)
			var out bytes.Buffer
			if err := Encrypt(&out, bytes.NewReader(plain), int64(len(plain)), recips, tt.c, rand.Reader); err != nil {
				t.Fatal(err)
			}
			if want, err := EncryptedSize(int64(len(plain)), recips, tt.c); err != nil || want != int64(out.Len()) {
				t.Errorf("EncryptedSize %d, %v; wrote %d", want, err, out.Len())
			}
			f := filepath.Join(dir, tt.name+".bin")
			if err := os.WriteFile(f, out.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			dump := string(cmstest.OpenSSL(t, "asn1parse", "-inform", "DER", "-in", f))
			if !strings.Contains(dump, ":"+tt.wantAlg) || (tt.wantAlg == "rsaesOaep") != strings.Contains(dump, ":sha256") {
				t.Errorf("key transport is not %s (with SHA-256 for OAEP):\n%s", tt.wantAlg, dump)
			}
			if got := cmstest.Decrypt(t, f, p.KeyFile); !bytes.Equal(got, plain) {
				t.Error("openssl decrypted something else")
			}
			var got bytes.Buffer
			if err := Decrypt(&got, bytes.NewReader(out.Bytes()), p.Key, p.Cert); err != nil || !bytes.Equal(got.Bytes(), plain) {
				t.Errorf("Decrypt: %v", err)
			}
		})
	}
}

func TestParseKeyTransport(t *testing.T) {
	for in, want := range map[string]KeyTransport{"oaep": OAEPSHA256, "OAEP": OAEPSHA256, "pkcs1": PKCS1v15, "PKCS1": PKCS1v15} {
		if got, err := ParseKeyTransport(in); err != nil || got != want {
			t.Errorf("ParseKeyTransport(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseKeyTransport("rsa"); err == nil {
		t.Error("rsa: no error")
	}
	if c := AES256CBC.WithKeyTransport(PKCS1v15); c.KeyTransport() != PKCS1v15 || c.WithKeyTransport(OAEPSHA256) != AES256CBC {
		t.Errorf("WithKeyTransport does not round-trip: %v", c)
	}
}

package cms

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// TestSeekableMatchesOpenSSL reads openssl-encrypted files at many offsets
// and lengths and compares with openssl's own decryption.
func TestSeekableMatchesOpenSSL(t *testing.T) {
	dir := t.TempDir()
	pki := cmstest.NewPKI(t, dir, "seek")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, 15, 16, 17, 100_003} {
		plain := make([]byte, size)
		for i := range plain {
			plain[i] = byte(rng.IntN(256))
		}
		in := filepath.Join(dir, "plain")
		if err := os.WriteFile(in, plain, 0o600); err != nil {
			t.Fatal(err)
		}
		for _, alg := range []string{"-aes128", "-aes256", "-des3", "-aes-256-gcm", "-aes-128-gcm"} {
			out := filepath.Join(dir, "enc")
			cmstest.Encrypt(t, in, out, []string{alg}, pki.CertFile)
			want := cmstest.Decrypt(t, out, pki.KeyFile)
			if !bytes.Equal(want, plain) {
				t.Fatalf("%s: openssl round trip differs", alg)
			}
			enc, _ := os.ReadFile(out)
			s, err := OpenSeekable(bytes.NewReader(enc), int64(len(enc)), pki.Key, pki.Cert)
			if err != nil {
				t.Fatalf("%s size %d: %v", alg, size, err)
			}
			if s.Size() != int64(size) {
				t.Fatalf("%s: Size = %d, want %d", alg, s.Size(), size)
			}
			checkReads(t, alg, s, want, rng)
		}
	}
}

func checkReads(t *testing.T, alg string, s *Seekable, want []byte, rng *rand.Rand) {
	t.Helper()
	all, err := io.ReadAll(io.NewSectionReader(s, 0, s.Size()))
	if err != nil || !bytes.Equal(all, want) {
		t.Fatalf("%s: whole read differs (err %v)", alg, err)
	}
	for range 50 {
		if len(want) == 0 {
			break
		}
		off := rng.IntN(len(want))
		n := rng.IntN(len(want)-off) + 1
		got := make([]byte, n)
		if _, err := s.ReadAt(got, int64(off)); err != nil && err != io.EOF {
			t.Fatalf("%s: ReadAt(%d, %d): %v", alg, off, n, err)
		}
		if !bytes.Equal(got, want[off:off+n]) {
			t.Fatalf("%s: ReadAt(%d, %d) differs", alg, off, n)
		}
	}
	if n, err := s.ReadAt(make([]byte, 4), s.Size()); n != 0 || err != io.EOF {
		t.Errorf("%s: read at the end = %d, %v; want 0, EOF", alg, n, err)
	}
}

func TestSeekableRefuses(t *testing.T) {
	dir := t.TempDir()
	pki := cmstest.NewPKI(t, dir, "seek")
	in := filepath.Join(dir, "plain")
	if err := os.WriteFile(in, bytes.Repeat([]byte("recording "), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	open := func(extra ...string) ([]byte, error) {
		out := filepath.Join(dir, "enc")
		cmstest.Encrypt(t, in, out, extra, pki.CertFile)
		enc, _ := os.ReadFile(out)
		_, err := OpenSeekable(bytes.NewReader(enc), int64(len(enc)), pki.Key, pki.Cert)
		return enc, err
	}
	if _, err := open("-aes128", "-stream"); !errors.Is(err, ErrNotSeekable) {
		t.Errorf("BER chunks: err = %v, want ErrNotSeekable", err)
	}
	enc, err := open("-aes-256-gcm")
	if err != nil {
		t.Fatal(err)
	}
	enc[len(enc)/2] ^= 1 // a ciphertext byte
	if _, err := OpenSeekable(bytes.NewReader(enc), int64(len(enc)), pki.Key, pki.Cert); !errors.Is(err, ErrAuth) {
		t.Errorf("tampered GCM: err = %v, want ErrAuth", err)
	}
	enc, _ = open("-aes128")
	if _, err := OpenSeekable(bytes.NewReader(enc[:len(enc)-1]), int64(len(enc)-1), pki.Key, pki.Cert); err == nil {
		t.Error("truncated file opened")
	}
}

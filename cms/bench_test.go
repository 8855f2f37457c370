package cms

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// BenchmarkDecrypt measures the streaming decoder on 64 MiB files in
// memory (MB/s and allocations per file; the allocations must not grow
// with the size).
func BenchmarkDecrypt(b *testing.B) {
	dir := b.TempDir()
	p := cmstest.NewPKI(b, dir, "bench")
	const size = 64 << 20
	plain := make([]byte, size)
	if _, err := rand.Read(plain); err != nil {
		b.Fatal(err)
	}
	files := map[string][]byte{}
	for _, c := range []Cipher{AES128CBC, AES256CBC, DES3CBC} {
		var buf bytes.Buffer
		if err := Encrypt(&buf, bytes.NewReader(plain), size, []*x509.Certificate{p.Cert}, c, rand.Reader); err != nil {
			b.Fatal(err)
		}
		files[c.String()+"-CBC"] = buf.Bytes()
	}
	in := filepath.Join(dir, "plain")
	if err := os.WriteFile(in, plain, 0o600); err != nil {
		b.Fatal(err)
	}
	for name, args := range map[string][]string{"AES-128-GCM": {"-aes-128-gcm"}, "AES-256-CBC-BER": {"-aes256", "-stream"}} {
		cmstest.Encrypt(b, in, in+".bin", args, p.CertFile)
		data, err := os.ReadFile(in + ".bin")
		if err != nil {
			b.Fatal(err)
		}
		files[name] = data
	}
	for _, name := range []string{"AES-128-CBC", "AES-256-CBC", "AES-256-CBC-BER", "DES-EDE3-CBC", "AES-128-GCM"} {
		data := files[name]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if err := Decrypt(io.Discard, bytes.NewReader(data), p.Key, p.Cert); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncrypt measures the streaming encoder (the simulator's and
// encryptionCertificate's path).
func BenchmarkEncrypt(b *testing.B) {
	p := cmstest.NewPKI(b, b.TempDir(), "bench")
	const size = 16 << 20
	plain := make([]byte, size)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := Encrypt(io.Discard, bytes.NewReader(plain), size, []*x509.Certificate{p.Cert}, AES128CBC, rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

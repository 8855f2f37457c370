package export

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/cms/cmstest"
)

// BenchmarkExport writes one recording with a 64 MiB media file into a
// zip on io.Discard: as stored, and decrypted (AES-256-CBC). Allocation
// per recording must not depend on the media's size.
func BenchmarkExport(b *testing.B) {
	const size = 64 << 20
	pki := cmstest.NewPKI(b, b.TempDir(), "bench")
	key, cert := pki.Key, pki.Cert
	plain := make([]byte, size)
	rand.Read(plain)
	var enc bytes.Buffer
	if err := cms.Encrypt(&enc, bytes.NewReader(plain), size, []*x509.Certificate{cert}, cms.AES256CBC, rand.Reader); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	writeBench(b, filepath.Join(dir, "m.mp3.bin"), enc.Bytes())
	doc := fmt.Sprintf(`{"id":"B","startTime":"2024-03-09T10:00:00Z","mediaFiles":[{"mediaId":"m.mp3","type":"audio/mp3","size":%d}]}`, enc.Len())
	writeBench(b, filepath.Join(dir, "recording.json"), []byte(doc))
	for _, c := range []struct {
		name string
		key  *rsa.PrivateKey
	}{{"stored", nil}, {"decrypted", key}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(enc.Len()))
			b.ReportAllocs()
			for b.Loop() {
				zw := NewWriter(io.Discard, Options{Key: c.key, Now: time.Unix(0, 0)})
				if _, err := zw.Add(context.Background(), dir); err != nil {
					b.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func writeBench(b *testing.B, name string, data []byte) {
	if err := os.WriteFile(name, data, 0o600); err != nil {
		b.Fatal(err)
	}
}

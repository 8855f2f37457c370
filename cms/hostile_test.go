package cms

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// encryptRaw makes a CMS file whose content is CBC(plain) without padding
// added, so tests can choose the padding. plain must be block-aligned.
func encryptRaw(t *testing.T, plain []byte, c Cipher, cert *x509.Certificate) []byte {
	t.Helper()
	info, _ := c.info()
	seed := randomBytes(t, int64(info.keyLen+info.blockSize))
	var out bytes.Buffer
	size := int64(len(plain) - info.blockSize)
	if err := Encrypt(&out, bytes.NewReader(make([]byte, size)), size, []*x509.Certificate{cert}, c, io.MultiReader(bytes.NewReader(seed), rand.Reader)); err != nil { // then OAEP's seed
		t.Fatal(err)
	}
	key := bytes.Clone(seed[:info.keyLen])
	block, err := newBlock(c, key)
	if err != nil {
		t.Fatal(err)
	}
	data := out.Bytes()
	content := data[len(data)-len(plain):]
	cipher.NewCBCEncrypter(block, seed[info.keyLen:]).CryptBlocks(content, plain)
	return data
}

func TestDecryptPadding(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	body := randomBytes(t, 32)
	tests := []struct {
		name    string
		c       Cipher
		last    []byte // the final block's tail
		wantLen int    // plaintext length when valid, -1 when bad
	}{
		{"pad 1", AES128CBC, []byte{1}, 47},
		{"pad 16", AES256CBC, bytes.Repeat([]byte{16}, 16), 32},
		{"pad 8 des", DES3CBC, bytes.Repeat([]byte{8}, 8), 32},
		{"pad 0", AES128CBC, []byte{0}, -1},
		{"pad 17", AES128CBC, bytes.Repeat([]byte{17}, 16), -1},
		{"pad 0xff", AES192CBC, []byte{0xff}, -1},
		{"pad 9 des", DES3CBC, bytes.Repeat([]byte{9}, 8), -1},
		{"inconsistent", AES128CBC, []byte{2, 3, 3}, -1},
		{"inconsistent first", AES128CBC, append([]byte{15}, bytes.Repeat([]byte{16}, 15)...), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, _ := tt.c.info()
			plain := append(bytes.Clone(body), make([]byte, info.blockSize)...)
			copy(plain[len(plain)-len(tt.last):], tt.last)
			got, err := decryptBytes(t, encryptRaw(t, plain, tt.c, p.Cert), p, p.Cert)
			if tt.wantLen < 0 {
				if !errors.Is(err, ErrBadPadding) {
					t.Fatalf("got %v, want ErrBadPadding", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, plain[:tt.wantLen]) {
				t.Fatalf("got %d bytes, %v; want the first %d", len(got), err, tt.wantLen)
			}
		})
	}
}

func TestUnpad(t *testing.T) {
	for p := 0; p < 256; p++ {
		b := bytes.Repeat([]byte{byte(p)}, 16)
		n, ok := unpad(b)
		if want := p >= 1 && p <= 16; ok != want || (ok && n != 16-p) {
			t.Errorf("pad %d: %d, %v", p, n, ok)
		}
	}
}

// fixtures returns DER, BER-stream and GCM files of plain for p.
func fixtures(t testing.TB, p cmstest.PKI, plain []byte) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	in := dir + "/plain"
	if err := os.WriteFile(in, plain, 0o600); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for name, args := range map[string][]string{
		"der": {"-aes128"}, "stream": {"-aes256", "-stream"}, "gcm": {"-aes-128-gcm"}, "gcm-stream": {"-aes-256-gcm", "-stream"},
	} {
		f := dir + "/" + name + ".bin"
		cmstest.Encrypt(t, in, f, args, p.CertFile)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func TestDecryptTruncated(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	for name, data := range fixtures(t, p, randomBytes(t, 2000)) {
		t.Run(name, func(t *testing.T) {
			for cut := 0; cut < len(data); cut += step(cut, len(data)) {
				cert := p.Cert
				if cut%2 == 0 {
					cert = nil
				}
				if _, err := decryptBytes(t, data[:cut], p, cert); err == nil {
					t.Fatalf("cut at %d of %d (cert %v): no error", cut, len(data), cert != nil)
				}
			}
		})
	}
}

// step visits every offset in the headers (~400 bytes) and near the end,
// every 11th in the content.
func step(cut, n int) int {
	if cut < 420 || cut > n-40 {
		return 1
	}
	return 11
}

func TestDecryptGarbage(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	certDER := p.Cert.Raw
	signedData := append([]byte{0x30, 0x0d, 0x06, 0x09}, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x00)
	envHeader := []byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03, 0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x00}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotCMS},
		{"text", []byte("-----BEGIN CERTIFICATE-----\n"), ErrNotCMS},
		{"certificate", certDER, ErrNotCMS},
		{"signedData", signedData, ErrNotCMS},
		{"random", randomBytes(t, 5000), nil},
		{"huge outer length", []byte{0x30, 0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, nil},
		{"length of 9 bytes", []byte{0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9}, nil},
		// RecipientInfos are streamed, so a huge one is read until the input ends.
		{"huge recipientInfos", append(bytes.Clone(envHeader), 0x31, 0x84, 0x7f, 0xff, 0xff, 0xff), ErrTruncated},
		{"huge indefinite recipientInfos piece", append(bytes.Clone(envHeader), 0x31, 0x80, 0x04, 0x84, 0x10, 0, 0, 0), ErrTruncated},
		{"deep nesting", append(bytes.Clone(envHeader), bytes.Repeat([]byte{0x31, 0x80}, 10000)...), ErrMalformed},
		{"child overruns parent", []byte{0x30, 0x03, 0x06, 0x09, 0x2a}, nil},
		{"primitive indefinite", append(bytes.Clone(envHeader), 0x04, 0x80), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := decryptBytes(t, tt.data, p, nil)
			runtime.ReadMemStats(&after)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
				t.Errorf("allocated %d bytes", alloc)
			}
		})
	}
}

// TestDecryptHugeContentLength declares a content far longer than the file.
func TestDecryptHugeContentLength(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	data := fixtures(t, p, randomBytes(t, 100))["stream"]
	i := bytes.Index(data, []byte{0xa0, 0x80, 0x04})
	if i < 0 {
		t.Fatal("no streamed content in the fixture")
	}
	huge := append(bytes.Clone(data[:i+3]), 0x88, 0x10, 0, 0, 0, 0, 0, 0, 0)
	huge = append(huge, data[i+4:]...)
	if _, err := decryptBytes(t, huge, p, nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want ErrTruncated", err)
	}
}

func TestDecryptTrailingDataIgnored(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	plain := randomBytes(t, 500)
	for name, data := range fixtures(t, p, plain) {
		got, err := decryptBytes(t, append(bytes.Clone(data), "trailing"...), p, p.Cert)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%s: %d bytes, %v", name, len(got), err)
		}
	}
}

func TestDecryptTamperedGCM(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	for _, name := range []string{"gcm", "gcm-stream"} {
		data := fixtures(t, p, randomBytes(t, 500))[name]
		for _, off := range []int{len(data) - 300, len(data) - 30} {
			bad := bytes.Clone(data)
			bad[off] ^= 1
			if _, err := decryptBytes(t, bad, p, p.Cert); err == nil {
				t.Errorf("%s: flipped bit at %d of %d: no error", name, off, len(data))
			}
		}
	}
}

func TestDecryptWriterError(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	boom := errors.New("disk full")
	for name, data := range fixtures(t, p, randomBytes(t, 200_000)) {
		err := Decrypt(failWriter{boom}, bytes.NewReader(data), p.Key, nil)
		if !errors.Is(err, boom) {
			t.Errorf("%s: got %v, want the writer's error", name, err)
		}
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestDecryptCertKeyMismatch(t *testing.T) {
	dir := t.TempDir()
	a, b := cmstest.NewPKI(t, dir, "alice"), cmstest.NewPKI(t, dir, "bob")
	if err := Decrypt(io.Discard, bytes.NewReader(nil), a.Key, b.Cert); err == nil {
		t.Fatal("no error for a certificate of another key")
	}
}

// FuzzDecrypt feeds valid files and mutations of them; Decrypt must never
// panic and never produce more plaintext than it was given ciphertext.
func FuzzDecrypt(f *testing.F) {
	cmstest.RequireOpenSSL(f)
	p := cmstest.NewPKI(f, f.TempDir(), "alice")
	for _, data := range fixtures(f, p, []byte("a recording, 48 bytes long, for the fuzz seeds.")) {
		f.Add(data, false)
		f.Add(data, true)
		for _, off := range []int{1, 3, 17, 30, len(data) / 2, len(data) - 20, len(data) - 1} {
			m := bytes.Clone(data)
			m[off] ^= 0x80
			f.Add(m, false)
			f.Add(data[:off], true)
		}
	}
	f.Add([]byte{0x30, 0x80, 0x30, 0x80, 0, 0, 0, 0}, false)
	f.Fuzz(func(t *testing.T, data []byte, useCert bool) {
		cert := p.Cert
		if !useCert {
			cert = nil
		}
		var out bytes.Buffer
		err := Decrypt(&out, bytes.NewReader(data), p.Key, cert)
		if out.Len() > len(data) {
			t.Fatalf("%d bytes of plaintext from %d of input (err %v)", out.Len(), len(data), err)
		}
	})
}

func TestDecryptRandomReaderSplits(t *testing.T) {
	// The decoder must not depend on how the reader splits its input.
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	plain := randomBytes(t, 100_000)
	for name, data := range fixtures(t, p, plain) {
		var out bytes.Buffer
		if err := Decrypt(&out, &choppy{data: data}, p.Key, nil); err != nil || !bytes.Equal(out.Bytes(), plain) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// choppy returns 1..7 bytes per Read.
type choppy struct {
	data []byte
	n    int
}

func (c *choppy) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.n = c.n%7 + 1
	k := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[k:]
	return k, nil
}

// TestDecryptSaysWhere: a DER file with something left over inside a
// definite-length element (an element after the content, a stray
// end-of-contents, a second attribute set) is refused with the offset
// where the stray bytes start, and how many there are, so that an admin can
// find them with openssl asn1parse. openssl refuses these files too.
func TestDecryptSaysWhere(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	f := opensslEncrypt(t, dir, randomBytes(t, 100), variant{"aes128", []string{"-aes128"}}, p)
	tests := []struct {
		name              string
		inECI, inEnvelope []byte // appended to the encryptedContentInfo, to the EnvelopedData
		stray             int    // the last bytes of the file that are wrong
		want              string // with %d for the offset where they start
	}{
		{"element after the content", []byte{0x04, 0x01, 0x00}, nil, 3, "3 unread bytes at offset %d"},
		{"end-of-contents in a definite length", nil, []byte{0x00, 0x00}, 2, "unexpected end-of-contents at offset %d"},
		// The first set is skipped as unprotectedAttrs.
		{"two attribute sets", nil, []byte{0xa1, 0x00, 0xa1, 0x00}, 2, "2 unread bytes at offset %d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := appendInEnveloped(t, read(t, f), tt.inECI, tt.inEnvelope)
			bad := filepath.Join(t.TempDir(), "bad.bin")
			if err := os.WriteFile(bad, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := cmstest.TryOpenSSL("cms", "-decrypt", "-binary", "-inform", "DER", "-in", bad, "-inkey", p.KeyFile); err == nil {
				t.Fatal("premise: openssl decrypts it")
			}
			_, err := decryptBytes(t, data, p, p.Cert)
			if want := fmt.Sprintf(tt.want, len(data)-tt.stray); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want ErrMalformed saying %q", err, want)
			}
		})
	}
}

// appendInEnveloped appends bytes inside a DER EnvelopedData file's
// encryptedContentInfo and inside its EnvelopedData, lengths adjusted.
func appendInEnveloped(t *testing.T, der, inECI, inEnvelope []byte) []byte {
	t.Helper()
	var ci, oid, explicit, env, version, ris, eci asn1.RawValue
	rest, err := asn1.Unmarshal(der, &ci)
	if err == nil && len(rest) == 0 {
		rest, err = asn1.Unmarshal(ci.Bytes, &oid)
	}
	if err == nil {
		_, err = asn1.Unmarshal(rest, &explicit)
	}
	if err == nil {
		_, err = asn1.Unmarshal(explicit.Bytes, &env)
	}
	if err == nil {
		rest, err = asn1.Unmarshal(env.Bytes, &version)
	}
	if err == nil {
		rest, err = asn1.Unmarshal(rest, &ris)
	}
	if err == nil {
		rest, err = asn1.Unmarshal(rest, &eci)
	}
	if err != nil || len(rest) > 0 {
		t.Fatalf("premise: not a DER EnvelopedData without attributes: %v", err)
	}
	eciDER := derTLV(t, asn1.ClassUniversal, asn1.TagSequence, true, cat(eci.Bytes, inECI))
	envDER := derTLV(t, asn1.ClassUniversal, asn1.TagSequence, true, cat(version.FullBytes, ris.FullBytes, eciDER, inEnvelope))
	return derTLV(t, asn1.ClassUniversal, asn1.TagSequence, true, cat(oid.FullBytes, derTLV(t, asn1.ClassContextSpecific, 0, true, envDER)))
}

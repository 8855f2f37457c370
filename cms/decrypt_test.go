package cms

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// variant is one way openssl cms -encrypt can write a file.
type variant struct {
	name string
	args []string
}

func opensslVariants() []variant {
	var vs []variant
	for _, c := range []string{"-aes128", "-aes192", "-aes256", "-des3", "-aes-128-gcm", "-aes-192-gcm", "-aes-256-gcm"} {
		vs = append(vs, variant{c, []string{c}}, variant{c + " -stream", []string{c, "-stream"}})
	}
	return append(vs,
		variant{"oaep sha1", []string{"-aes128", "-keyopt", "rsa_padding_mode:oaep"}},
		variant{"oaep sha256", []string{"-aes256", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"}},
		variant{"oaep sha256 stream", []string{"-aes256", "-stream", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"}},
		variant{"oaep sha512 mgf1 sha1", []string{"-aes128", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha512", "-keyopt", "rsa_mgf1_md:sha1"}},
		variant{"oaep label", []string{"-aes128", "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_label:0102030405"}},
		variant{"ski", []string{"-aes128", "-keyid"}},
	)
}

// opensslEncrypt writes plain to dir and encrypts it with v to pkis; with
// -keyopt the recipients are named with -recip as openssl requires.
func opensslEncrypt(t *testing.T, dir string, plain []byte, v variant, pkis ...cmstest.PKI) string {
	t.Helper()
	in, out := filepath.Join(dir, "plain"), filepath.Join(dir, "enc.bin")
	if err := os.WriteFile(in, plain, 0o600); err != nil {
		t.Fatal(err)
	}
	var certs []string
	for _, p := range pkis {
		certs = append(certs, p.CertFile)
	}
	args := v.args
	if hasKeyopt(args) {
		var recips []string
		for _, c := range certs {
			recips = append(recips, "-recip", c)
		}
		args, certs = append(recips, args...), nil
	}
	cmstest.Encrypt(t, in, out, args, certs...)
	return out
}

func hasKeyopt(args []string) bool {
	for _, a := range args {
		if a == "-keyopt" {
			return true
		}
	}
	return false
}

func decryptBytes(t testing.TB, data []byte, p cmstest.PKI, cert *x509.Certificate) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	err := Decrypt(&out, bytes.NewReader(data), p.Key, cert)
	return out.Bytes(), err
}

func TestDecryptMatchesOpenSSL(t *testing.T) {
	dir := t.TempDir()
	alice, bob := cmstest.NewPKI(t, dir, "alice"), cmstest.NewPKI(t, dir, "bob")
	for _, v := range opensslVariants() {
		for _, size := range []int{0, 1, 16, 70_000} {
			t.Run(fmt.Sprintf("%s/%d", v.name, size), func(t *testing.T) {
				if size == 0 && strings.HasSuffix(v.name, "gcm -stream") {
					t.Skip("openssl 3.0 cannot write an empty streamed GCM file (Error writing CMS output)")
				}
				plain := randomBytes(t, int64(size))
				f := opensslEncrypt(t, t.TempDir(), plain, v, alice, bob)
				want := cmstest.Decrypt(t, f, bob.KeyFile)
				if !bytes.Equal(want, plain) {
					t.Fatalf("openssl itself did not round-trip")
				}
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				for _, cert := range []*x509.Certificate{nil, bob.Cert} {
					got, err := decryptBytes(t, data, bob, cert)
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("cert %v: got %d bytes, %v; want %d identical bytes", cert != nil, len(got), err, len(want))
					}
				}
			})
		}
	}
}

func TestDecryptWrongRecipient(t *testing.T) {
	dir := t.TempDir()
	alice, bob, carol := cmstest.NewPKI(t, dir, "alice"), cmstest.NewPKI(t, dir, "bob"), cmstest.NewPKI(t, dir, "carol")
	plain := randomBytes(t, 1000)
	for _, v := range []variant{{"cbc", []string{"-aes128"}}, {"gcm", []string{"-aes-128-gcm"}}, {"oaep", []string{"-aes128", "-keyopt", "rsa_padding_mode:oaep"}}} {
		t.Run(v.name, func(t *testing.T) {
			data, err := os.ReadFile(opensslEncrypt(t, t.TempDir(), plain, v, alice, bob))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decryptBytes(t, data, carol, carol.Cert); !errors.Is(err, ErrNoRecipient) {
				t.Errorf("with carol's cert: %v, want ErrNoRecipient", err)
			}
			if _, err := decryptBytes(t, data, carol, bob.Cert); err == nil {
				t.Errorf("carol's key with bob's cert: no error")
			}
			// Without a cert a wrong key fails on the padding, except in
			// about 1 of 256 CBC files, where it yields garbage (spec §8).
			got, err := decryptBytes(t, data, carol, nil)
			if err == nil && bytes.Equal(got, plain) {
				t.Fatal("carol's key decrypted a file not encrypted to her")
			}
			if err != nil && !errors.Is(err, ErrBadPadding) && !errors.Is(err, ErrAuth) {
				t.Errorf("carol's key: %v, want ErrBadPadding or ErrAuth", err)
			}
		})
	}
}

// TestDecryptContentPieces: BER lets the encryptedContent be a constructed
// OCTET STRING whose pieces are themselves constructed, of definite or
// indefinite length, or empty (X.690 §8.7.3). openssl -stream writes one
// level of primitive pieces; other BER writers nest. The plaintext is
// openssl's for each layout.
func TestDecryptContentPieces(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	plain := randomBytes(t, 100)
	head, content, tail := contentPieces(t, read(t, opensslEncrypt(t, dir, plain, variant{"aes256 -stream", []string{"-aes256", "-stream"}}, p)))
	piece := func(b []byte) []byte { return derTLV(t, asn1.ClassUniversal, asn1.TagOctetString, false, b) }
	nested := func(parts ...[]byte) []byte { return cat([]byte{0x24, 0x80}, cat(parts...), []byte{0, 0}) }
	nestedDefinite := func(parts ...[]byte) []byte {
		return derTLV(t, asn1.ClassUniversal, asn1.TagOctetString, true, cat(parts...))
	}
	c, k, m := content, 10, 50
	tests := []struct {
		name   string
		pieces []byte
	}{
		{"one nested piece", nested(piece(c))},
		{"two levels, then a piece", cat(nested(piece(c[:k]), nested(piece(c[k:m]))), piece(c[m:]))},
		{"three levels", nested(nested(nested(piece(c[:k])), piece(c[k:m])), piece(c[m:]))},
		{"definite nested piece", cat(nestedDefinite(piece(c[:k]), piece(c[k:m])), piece(c[m:]))},
		{"empty pieces", cat(piece(nil), nested(), piece(c[:k]), nested(piece(nil)), piece(c[k:]))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := cat(head, tt.pieces, tail)
			f := filepath.Join(t.TempDir(), "f.bin")
			if err := os.WriteFile(f, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := cmstest.Decrypt(t, f, p.KeyFile); !bytes.Equal(got, plain) {
				t.Fatal("premise: openssl decrypts something else")
			}
			got, err := decryptBytes(t, data, p, p.Cert)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("got %d bytes, %v; want openssl's %d", len(got), err, len(plain))
			}
		})
	}
}

// contentPieces splits an openssl -stream file around the primitive pieces
// of its encryptedContent [0]: what comes before them (up to and including
// the [0] header), their joined bytes, and the rest (from the [0]'s
// end-of-contents on).
func contentPieces(t *testing.T, data []byte) (head, content, tail []byte) {
	t.Helper()
	i := bytes.Index(data, []byte{0xa0, 0x80, 0x04})
	if i < 0 {
		t.Fatal("premise: no streamed content")
	}
	rest := data[i+2:]
	for len(rest) > 0 && rest[0] == 0x04 {
		var piece asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &piece); err != nil {
			t.Fatalf("premise: content piece: %v", err)
		}
		content = append(content, piece.Bytes...)
	}
	if !bytes.HasPrefix(rest, []byte{0, 0}) {
		t.Fatal("premise: the pieces do not end with an end-of-contents")
	}
	return data[:i+2], content, rest
}

package cms

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

func TestParseKey(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	const pass = "correct horse"
	file := func(name string) string { return filepath.Join(dir, name) }
	cmstest.OpenSSL(t, "rsa", "-traditional", "-in", p.KeyFile, "-out", file("pkcs1.pem"))
	cmstest.OpenSSL(t, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", p.KeyFile, "-out", file("enc256.pem"), "-passout", "pass:"+pass)
	cmstest.OpenSSL(t, "pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512", "-in", p.KeyFile, "-out", file("enc128.pem"), "-passout", "pass:"+pass)
	cmstest.OpenSSL(t, "pkcs8", "-topk8", "-v2", "des3", "-in", p.KeyFile, "-out", file("encdes.pem"), "-passout", "pass:"+pass)
	cmstest.OpenSSL(t, "pkey", "-aes256", "-in", p.KeyFile, "-out", file("pkey.pem"), "-passout", "pass:"+pass)
	cmstest.OpenSSL(t, "rsa", "-traditional", "-aes256", "-in", p.KeyFile, "-out", file("legacy.pem"), "-passout", "pass:"+pass)
	cmstest.OpenSSL(t, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file("ec.pem"))
	cmstest.OpenSSL(t, "pkey", "-traditional", "-in", file("ec.pem"), "-out", file("sec1.pem"))
	cmstest.OpenSSL(t, "pkcs8", "-topk8", "-v1", "PBE-SHA1-3DES", "-in", p.KeyFile, "-out", file("pbes1.pem"), "-passout", "pass:"+pass)
	cmstest.OpenSSL(t, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", p.KeyFile, "-out", file("emptypass.pem"), "-passout", "pass:")
	cmstest.OpenSSL(t, "pkey", "-in", p.KeyFile, "-outform", "DER", "-out", file("key.der"))
	cmstest.OpenSSL(t, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512", "-out", file("small.pem"))
	withCert := append(read(t, p.CertFile), read(t, file("pkcs1.pem"))...)
	// A label that does not match the body: openssl reads by content.
	pkcs1AsPKCS8 := []byte(strings.ReplaceAll(string(read(t, file("pkcs1.pem"))), "RSA PRIVATE KEY", "PRIVATE KEY"))
	pkcs8AsPKCS1 := []byte(strings.ReplaceAll(string(read(t, p.KeyFile)), " PRIVATE KEY", " RSA PRIVATE KEY"))
	sec1 := string(read(t, file("sec1.pem")))
	if !strings.Contains(sec1, "BEGIN EC PRIVATE KEY") {
		t.Fatal("premise: openssl pkey -traditional wrote no SEC1 EC key")
	}
	sec1AsPKCS8 := []byte(strings.ReplaceAll(sec1, "EC PRIVATE KEY", "PRIVATE KEY"))

	tests := []struct {
		name string
		pem  []byte
		pass string
		ok   bool
		want string // in the error
	}{
		{"pkcs8", read(t, p.KeyFile), "", true, ""},
		{"pkcs1", read(t, file("pkcs1.pem")), "", true, ""},
		{"pkcs1 after a certificate", withCert, "", true, ""},
		{"pkcs8 aes-256", read(t, file("enc256.pem")), pass, true, ""},
		{"pkcs8 aes-128 sha512", read(t, file("enc128.pem")), pass, true, ""},
		{"pkcs8 des3", read(t, file("encdes.pem")), pass, true, ""},
		{"pkey -aes256", read(t, file("pkey.pem")), pass, true, ""},
		{"wrong passphrase", read(t, file("enc256.pem")), "wrong horse", false, ""},
		{"no passphrase", read(t, file("enc256.pem")), "", false, ""},
		{"legacy encrypted", read(t, file("legacy.pem")), pass, false, ""},
		{"pbes1", read(t, file("pbes1.pem")), pass, false, ""},
		{"ec", read(t, file("ec.pem")), "", false, ""},
		{"certificate only", read(t, p.CertFile), "", false, ""},
		{"garbage", []byte("not a key"), "", false, ""},
		{"pkcs1 labelled PRIVATE KEY", pkcs1AsPKCS8, "", true, ""},
		{"pkcs8 labelled RSA PRIVATE KEY", pkcs8AsPKCS1, "", true, ""},
		{"empty passphrase", read(t, file("emptypass.pem")), "", true, ""},
		{"der", read(t, file("key.der")), "", false, "openssl pkey -inform DER -in KEY -out KEY.pem"},
		{"512 bits", read(t, file("small.pem")), "", false, "512 bits"},
		{"ec named", read(t, file("ec.pem")), "", false, "an EC key"},
		{"sec1 ec named", []byte(sec1), "", false, "an EC key"},
		{"sec1 ec labelled PRIVATE KEY named", sec1AsPKCS8, "", false, "an EC key"},
		{"wrong passphrase named", read(t, file("enc256.pem")), "wrong horse", false, "wrong passphrase"},
		{"no passphrase named", read(t, file("enc256.pem")), "", false, "RCBS_KEY_PASSPHRASE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.pem, []byte(tt.pass))
			if !tt.ok {
				if !errors.Is(err, ErrKey) {
					t.Fatalf("got %v, want ErrKey", err)
				}
				if tt.pass != "" && strings.Contains(err.Error(), tt.pass) {
					t.Fatalf("error shows the passphrase: %v", err)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %q does not say %q", err, tt.want)
				}
				// The message is for an admin: no Go function or type names.
				for _, goism := range []string{"Parse", "x509:", "asn1:", "*rsa.", "*ecdsa."} {
					if strings.Contains(err.Error(), goism) {
						t.Fatalf("error %q names Go internals (%q)", err, goism)
					}
				}
				return
			}
			if err != nil || !k.Equal(p.Key) {
				t.Fatalf("got %v, want alice's key", err)
			}
		})
	}
}

func TestParseCertificate(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	c, err := ParseCertificate(read(t, p.CertFile))
	if err != nil || !c.Equal(p.Cert) {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseCertificate(read(t, p.KeyFile)); err == nil {
		t.Fatal("a key parsed as a certificate")
	}
	if _, err := ParseCertificate(p.Cert.Raw); err == nil || !strings.Contains(err.Error(), "openssl x509 -inform DER -in CERT -out CERT.pem") {
		t.Fatalf("DER certificate: %v, want the command that converts it", err)
	}
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

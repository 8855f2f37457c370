// Package cmstest makes CMS test fixtures with the real openssl command, so
// that tests of cms, decrypt and their callers check against the reference
// implementation rather than against themselves. Keys are generated per test
// into t.TempDir(); nothing here is usable for real data.
package cmstest

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PKI is one RSA key pair with a self-signed certificate, on disk and parsed.
type PKI struct {
	KeyFile  string // PKCS#8 PEM, unencrypted
	CertFile string // PEM
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
}

// RequireOpenSSL skips the test when openssl is missing, unless CI=true,
// where a missing reference tool is a failure.
func RequireOpenSSL(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl not found: %v", err)
		}
		t.Skipf("openssl not found: %v", err)
	}
}

// OpenSSL runs openssl with args and returns its stdout; failure is fatal.
func OpenSSL(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := TryOpenSSL(args...)
	if err != nil {
		t.Fatalf("openssl %v: %v", args, err)
	}
	return out
}

// TryOpenSSL runs openssl with args; the error carries its stderr.
func TryOpenSSL(args ...string) ([]byte, error) {
	cmd := exec.Command("openssl", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// NewPKI makes a 2048-bit RSA key and a self-signed certificate named cn in dir.
func NewPKI(t testing.TB, dir, cn string) PKI {
	t.Helper()
	RequireOpenSSL(t)
	p := PKI{KeyFile: filepath.Join(dir, cn+".key"), CertFile: filepath.Join(dir, cn+".crt")}
	OpenSSL(t, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", p.KeyFile,
		"-out", p.CertFile, "-subj", "/CN="+cn, "-days", "2")
	p.Key = parseKeyFile(t, p.KeyFile)
	p.Cert = parseCertFile(t, p.CertFile)
	return p
}

// Encrypt encrypts the file in to out (DER) for the certificates with extra
// openssl cms -encrypt arguments, e.g. "-aes256", "-stream".
func Encrypt(t testing.TB, in, out string, extra []string, certFiles ...string) {
	t.Helper()
	args := append([]string{"cms", "-encrypt", "-binary", "-outform", "DER", "-in", in, "-out", out}, extra...)
	OpenSSL(t, append(args, certFiles...)...)
}

// Decrypt returns openssl's decryption of the DER file in with keyFile.
func Decrypt(t testing.TB, in, keyFile string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "plain")
	OpenSSL(t, "cms", "-decrypt", "-binary", "-inform", "DER", "-inkey", keyFile, "-in", in, "-out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseKeyFile(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	block := readPEM(t, name)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		t.Fatalf("%s: not an RSA key", name)
	}
	return rk
}

func parseCertFile(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(readPEM(t, name).Bytes)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return c
}

func readPEM(t testing.TB, name string) *pem.Block {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", name)
	}
	return block
}

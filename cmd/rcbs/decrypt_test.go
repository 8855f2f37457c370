package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

func runDecryptCmd(t *testing.T, getenv func(string) string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	e := &env{stdout: &stdout, stderr: &stderr, getenv: getenv}
	code := runMain(context.Background(), e, append([]string{"decrypt"}, args...))
	return code, stdout.String(), stderr.String()
}

func TestDecryptCommand(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	encKey := filepath.Join(dir, "enc.key")
	cmstest.OpenSSL(t, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", p.KeyFile, "-out", encKey, "-passout", "pass:s3cret")
	src := filepath.Join(dir, "backup", "REC1")
	if err := os.MkdirAll(src, 0o700); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.mp3")
	if err := os.WriteFile(plain, bytes.Repeat([]byte("recording "), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	cmstest.Encrypt(t, plain, filepath.Join(src, "m.mp3.bin"), []string{"-aes256", "-stream"}, p.CertFile)
	out := filepath.Join(dir, "out")
	pass := func(k string) string {
		if k == "RCBS_KEY_PASSPHRASE" {
			return "s3cret"
		}
		return ""
	}

	code, stdout, stderr := runDecryptCmd(t, pass, "-key", encKey, "-cert", p.CertFile, "-out", out, "-j", "2", filepath.Join(dir, "backup"))
	if code != 0 || !regexp.MustCompile(`^decrypted 1, skipped 0, failed 0, bytes 50000, \S+\n$`).MatchString(stdout) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !bytes.Equal(decryptTestRead(t, filepath.Join(out, "REC1", "m.mp3")), decryptTestRead(t, plain)) {
		t.Fatal("output differs from the plaintext")
	}

	// Again: the output exists, so the file is skipped, not failed (exit 0).
	code, stdout, stderr = runDecryptCmd(t, pass, "-key", encKey, "-out", out, filepath.Join(dir, "backup"))
	if code != 0 || !strings.HasPrefix(stdout, "decrypted 0, skipped 1, failed 0,") || strings.Contains(stderr, "rcbs:") {
		t.Fatalf("re-run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// -force decrypts it again.
	code, stdout, stderr = runDecryptCmd(t, pass, "-key", encKey, "-force", "-out", out, filepath.Join(dir, "backup"))
	if code != 0 || !strings.HasPrefix(stdout, "decrypted 1, skipped 0, failed 0,") {
		t.Fatalf("-force: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "s3cret") {
		t.Fatal("the passphrase was printed")
	}
}

func TestDecryptCommandUsage(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout+stderr
	}{
		{"help", []string{"-h"}, 0, "Example:"},
		{"no key", []string{dir}, 2, "-key is required"},
		{"no path", []string{"-key", p.KeyFile}, 2, "no PATH"},
		{"bad flag", []string{"-nope"}, 2, "not defined"},
		{"bad -j", []string{"-key", p.KeyFile, "-j", "0", dir}, 2, "-j must be"},
		{"missing key file", []string{"-key", filepath.Join(dir, "nope.pem"), dir}, 2, "nope.pem"},
		{"key is a cert", []string{"-key", p.CertFile, dir}, 2, "bad private key"},
		{"encrypted key, no passphrase", []string{"-key", decryptTestEncKey(t, p), dir}, 2, "RCBS_KEY_PASSPHRASE"},
		{"missing path", []string{"-key", p.KeyFile, filepath.Join(dir, "nope")}, 1, "nope: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runDecryptCmd(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout, stderr, tt.code, tt.want)
			}
		})
	}
}

func decryptTestEncKey(t *testing.T, p cmstest.PKI) string {
	name := filepath.Join(t.TempDir(), "enc.key")
	cmstest.OpenSSL(t, "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", p.KeyFile, "-out", name, "-passout", "pass:x")
	return name
}

func decryptTestRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecryptCommandUnusableKey: a key that cannot decrypt anything is one
// line naming the file, exit 2, before any file is touched, however many
// files the tree holds (spec §8).
func TestDecryptCommandUnusableKey(t *testing.T) {
	dir := t.TempDir()
	alice, bob := cmstest.NewPKI(t, dir, "alice"), cmstest.NewPKI(t, dir, "bob")
	tree := filepath.Join(dir, "backup")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("recording"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{"A", "B", "C"} {
		if err := os.MkdirAll(filepath.Join(tree, rec), 0o700); err != nil {
			t.Fatal(err)
		}
		cmstest.Encrypt(t, plain, filepath.Join(tree, rec, "m.mp3.bin"), nil, alice.CertFile)
	}
	small := filepath.Join(dir, "small.key")
	cmstest.OpenSSL(t, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512", "-out", small)
	der := filepath.Join(dir, "key.der")
	cmstest.OpenSSL(t, "pkey", "-in", alice.KeyFile, "-outform", "DER", "-out", der)
	wrongPass := decryptTestEncKey(t, alice)
	pass := func(k string) string {
		if k == "RCBS_KEY_PASSPHRASE" {
			return "not x"
		}
		return ""
	}
	tests := []struct {
		name   string
		getenv func(string) string
		args   []string
		want   []string // in the one stderr line
	}{
		{"key not the cert's", nil, []string{"-key", bob.KeyFile, "-cert", alice.CertFile}, []string{bob.KeyFile, alice.CertFile, "does not belong"}},
		{"under 1024 bits", nil, []string{"-key", small}, []string{small, "512 bits"}},
		{"der", nil, []string{"-key", der}, []string{der, "openssl pkey -inform DER"}},
		{"wrong passphrase", pass, []string{"-key", wrongPass}, []string{wrongPass, "wrong passphrase"}},
		{"a certificate", nil, []string{"-key", alice.CertFile}, []string{alice.CertFile, "no PEM private key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, stdout, stderr := runDecryptCmd(t, tt.getenv, append(tt.args, "-out", out, tree)...)
			if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and one line", code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("the output folder was created")
			}
		})
	}
}

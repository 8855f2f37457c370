package config

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeEd25519 writes an Ed25519 key pair as openssl genpkey/pkey do and
// returns the private and public key files.
func writeEd25519(t *testing.T, dir string) (priv, pub string, key ed25519.PrivateKey) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	skDER, _ := x509.MarshalPKCS8PrivateKey(sk)
	pkDER, _ := x509.MarshalPKIXPublicKey(pk)
	priv, pub = filepath.Join(dir, "manifest.pem"), filepath.Join(dir, "manifest.pub")
	for path, b := range map[string]*pem.Block{priv: {Type: "PRIVATE KEY", Bytes: skDER}, pub: {Type: "PUBLIC KEY", Bytes: pkDER}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return priv, pub, sk
}

func TestIntegrityKeys(t *testing.T) {
	dir := t.TempDir()
	priv, pub, sk := writeEd25519(t, dir)
	c, _, err := Parse(prefix+"manifestKey="+priv+"\n", "config.properties", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.ManifestKey.Equal(sk) || !c.SignatureKey().Equal(sk.Public()) {
		t.Errorf("manifestKey not read back")
	}
	c, _, err = Parse(prefix+"verifyKey="+pub+"\n", "config.properties", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ManifestKey != nil || !c.SignatureKey().Equal(sk.Public()) {
		t.Errorf("verifyKey not read back")
	}
	if d := Defaults(); d.SignatureKey() != nil || d.PruneMode != "trash" || d.TrashDays != 30 || d.RetentionDays != 0 || d.PruneAfterRun {
		t.Errorf("retention defaults: %+v", d)
	}
}

func TestRetentionValues(t *testing.T) {
	c, _, err := Parse(prefix+"retentionDays=3650\npruneMode=Delete\ntrashDays=7\npruneAfterRun=true\n", "config.properties", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionDays != 3650 || c.PruneMode != "delete" || c.TrashDays != 7 || !c.PruneAfterRun {
		t.Errorf("got %d %q %d %v", c.RetentionDays, c.PruneMode, c.TrashDays, c.PruneAfterRun)
	}
}

func TestIntegrityErrors(t *testing.T) {
	dir := t.TempDir()
	priv, pub, _ := writeEd25519(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rsaKey := filepath.Join(dir, "rsa.pem")
	writeRSAKey(t, rsaKey)
	window := "must exceed the backup window maxAge=%s + overlap=%s, or the next run would download again what prune deletes"
	tests := []struct{ text, want string }{
		{"manifestKey=" + notPEM, `config: manifestKey: has no PEM "PRIVATE KEY" block (got "` + notPEM + `")`},
		{"manifestKey=" + pub, `config: manifestKey: has no PEM "PRIVATE KEY" block (got "` + pub + `")`},
		{"manifestKey=" + rsaKey, `config: manifestKey: holds a *rsa.PrivateKey: manifests are signed with Ed25519 (openssl genpkey -algorithm ed25519) (got "` + rsaKey + `")`},
		{"verifyKey=" + priv, `config: verifyKey: has no PEM "PUBLIC KEY" block (got "` + priv + `")`},
		{"retentionDays=-1", `config: retentionDays: must be a whole number from 0 to 11000 (got "-1")`},
		{"retentionDays=11001", `config: retentionDays: must be a whole number from 0 to 11000 (got "11001")`},
		{"pruneMode=shred", `config: pruneMode: must be trash or delete (got "shred")`},
		{"trashDays=x", `config: trashDays: must be a whole number from 0 to 11000 (got "x")`},
		{"pruneAfterRun=1", `config: pruneAfterRun: must be true or false (got "1")`},
		// The window is maxAge + overlap: 2 days + 6 hours by default.
		{"retentionDays=2", `config: retentionDays: ` + fmt.Sprintf(window, "2", "6") + ` (got "2")`},
		{"maxAge=9\nretentionDays=9", `config: retentionDays: ` + fmt.Sprintf(window, "9", "6") + ` (got "9")`},
		{"maxAge=8\noverlap=P1D\nretentionDays=9", `config: retentionDays: ` + fmt.Sprintf(window, "8", "P1D") + ` (got "9")`},
		{"maxAge=P1M\nretentionDays=31", `config: retentionDays: ` + fmt.Sprintf(window, "P1M", "6") + ` (got "31")`},
		{"maxAge=0\nretentionDays=3650", `config: retentionDays: needs a maxAge above 0: with maxAge=0 every run reaches back to the epoch, so nothing may ever be deleted (got "3650")`},
	}
	for _, tt := range tests {
		_, _, err := Parse(prefix+tt.text+"\n", "config.properties", nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q:\n got %v\nwant %s", tt.text, err, tt.want)
		}
	}
	// Just past the window is fine.
	if _, _, err := Parse(prefix+"maxAge=8\noverlap=P1D\nretentionDays=10\n", "config.properties", nil); err != nil {
		t.Errorf("retentionDays=10 over a 9-day window: %v", err)
	}
}

func writeRSAKey(t *testing.T, path string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

package config

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rcbs/rcbs/sharding"
)

// setManifestKey reads manifestKey, the Ed25519 private key (PEM PKCS#8, as
// `openssl genpkey -algorithm ed25519` writes it) that signs the day
// manifests (spec §13), now: a wrong file must stop the run before a
// manifest goes unsigned.
func setManifestKey(c *Config, v string) error {
	block, err := readPEM(v, "PRIVATE KEY")
	if err != nil {
		return err
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return errors.New("is not a valid PKCS#8 private key")
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return fmt.Errorf("holds a %T: manifests are signed with Ed25519 (openssl genpkey -algorithm ed25519)", k)
	}
	c.ManifestKeyFile, c.ManifestKey = v, ek
	return nil
}

// setVerifyKey reads verifyKey, the Ed25519 public key (PEM "PUBLIC KEY")
// that checks the manifest signatures. Without it, verify checks them with
// the public half of manifestKey.
func setVerifyKey(c *Config, v string) error {
	block, err := readPEM(v, "PUBLIC KEY")
	if err != nil {
		return err
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return errors.New("is not a valid public key")
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("holds a %T: manifests are signed with Ed25519", k)
	}
	c.VerifyKeyFile, c.VerifyKey = v, ek
	return nil
}

// readPEM reads the first PEM block of type typ from the file v.
func readPEM(v, typ string) (*pem.Block, error) {
	if _, err := parsePath(v); err != nil {
		return nil, err
	}
	b, err := readSmall(filepath.FromSlash(v), maxPEMSize)
	if err != nil {
		return nil, err
	}
	for rest := b; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil, fmt.Errorf("has no PEM %q block", typ)
		}
		if block.Type == typ {
			return block, nil
		}
	}
}

// SignatureKey is the public key that checks manifest signatures:
// verifyKey, else the public half of manifestKey, else nil.
func (c *Config) SignatureKey() ed25519.PublicKey {
	if c.VerifyKey != nil {
		return c.VerifyKey
	}
	if c.ManifestKey != nil {
		return c.ManifestKey.Public().(ed25519.PublicKey)
	}
	return nil
}

// checkRetention refuses a retention that does not exceed the backup
// window (maxAge + overlap, spec §14): prune would delete what the next
// run downloads again. maxAge=0 reaches back to the epoch, so no retention
// is possible with it. The window is taken at its longest (a year of 366
// days, a month of 31).
func (c *Config) checkRetention() error {
	if c.RetentionDays == 0 {
		return nil
	}
	v := c.Value("retentionDays")
	if c.MaxAge.IsZero() {
		return &Error{Key: "retentionDays", Problem: "needs a maxAge above 0: with maxAge=0 every run reaches back to the epoch, so nothing may ever be deleted", Value: v}
	}
	window := maxLength(c.MaxAge) + maxLength(c.Overlap)
	if time.Duration(c.RetentionDays)*24*time.Hour <= window {
		return &Error{Key: "retentionDays", Problem: fmt.Sprintf("must exceed the backup window maxAge=%s + overlap=%s, or the next run would download again what prune deletes",
			c.Value("maxAge"), c.Value("overlap")), Value: v}
	}
	return nil
}

// maxLength is the longest time p can span (a year 366 days, a month 31).
func maxLength(p sharding.Period) time.Duration {
	days := time.Duration(p.Years)*366 + time.Duration(p.Months)*31 + time.Duration(p.Days)
	return days*24*time.Hour + p.Clock
}

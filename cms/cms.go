// Package cms reads and writes CMS (RFC 5652) EnvelopedData and (RFC 5083)
// AuthEnvelopedData, the format of the encrypted recordings: a streaming
// decoder and a streaming encoder built on the standard library.
//
// Why not github.com/smallstep/pkcs7 (or go.mozilla.org/pkcs7): both read the
// whole file into memory (about 6× its size), panic on a bad padding byte,
// accept a padding byte of 0, lack AES-192 and AES-GCM, and select the
// content cipher through a package-level variable, which is unsafe with
// concurrent callers. Recordings can be hundreds of MB and are decrypted in
// parallel, so this package parses the ASN.1 framing incrementally, unwraps
// the key with crypto/rsa and streams crypto/cipher: memory stays flat.
//
// Every function here is safe for concurrent use.
package cms

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
)

// Errors a caller can name with errors.Is.
var (
	// ErrNotCMS: the input is not a CMS EnvelopedData/AuthEnvelopedData.
	ErrNotCMS = errors.New("not CMS EnvelopedData")
	// ErrMalformed: the framing is CMS but broken (bad length, bad tag, trailing data).
	ErrMalformed = errors.New("malformed CMS")
	// ErrTruncated: the input ends before the structure does.
	ErrTruncated = errors.New("truncated CMS")
	// ErrUnsupported: a valid structure using an algorithm this package lacks.
	ErrUnsupported = errors.New("unsupported CMS algorithm")
	// ErrNoRecipient: no RecipientInfo matches the certificate, or none is
	// a key-transport RecipientInfo this package can unwrap.
	ErrNoRecipient = errors.New("no matching recipient")
	// ErrBadPadding: the decrypted CBC padding is invalid: almost always a
	// wrong key, else a corrupt file.
	ErrBadPadding = errors.New("bad padding (wrong key or corrupt file)")
	// ErrAuth: the AES-GCM tag does not match: wrong key or tampered file.
	ErrAuth = errors.New("authentication tag mismatch (wrong key or tampered file)")
	// ErrSize: Encrypt's reader gave more or fewer bytes than the declared size.
	ErrSize = errors.New("plaintext size differs from the declared size")
	// ErrKey: a private key could not be read (bad PEM, wrong passphrase, not RSA).
	ErrKey = errors.New("bad private key")
)

// Cipher is a content-encryption algorithm.
type Cipher int

const (
	AES128CBC Cipher = iota
	AES192CBC
	AES256CBC
	DES3CBC
)

// cipherInfo is what the encoder and decoder need of a CBC cipher.
type cipherInfo struct {
	oid       asn1.ObjectIdentifier
	keyLen    int
	blockSize int
	name      string
}

var cipherInfos = [...]cipherInfo{
	AES128CBC: {oidAES128CBC, 16, 16, "AES-128"},
	AES192CBC: {oidAES192CBC, 24, 16, "AES-192"},
	AES256CBC: {oidAES256CBC, 32, 16, "AES-256"},
	DES3CBC:   {oidDES3CBC, 24, 8, "DES-EDE3"},
}

func (c Cipher) info() (cipherInfo, bool) {
	if c < 0 || int(c) >= len(cipherInfos) {
		return cipherInfo{}, false
	}
	return cipherInfos[c], true
}

// String returns the name ParseCipher accepts, e.g. "AES-128".
func (c Cipher) String() string {
	if i, ok := c.info(); ok {
		return i.name
	}
	return fmt.Sprintf("Cipher(%d)", int(c))
}

// ParseCipher maps a configuration name (`encryptionFormat`: "AES-128",
// "AES-192", "AES-256", "DES-EDE3"; case-insensitive, "AES128" also accepted)
// to a Cipher.
func ParseCipher(name string) (Cipher, error) {
	n := strings.ToUpper(strings.ReplaceAll(name, "-", ""))
	for c, i := range cipherInfos {
		if strings.ReplaceAll(i.name, "-", "") == n {
			return Cipher(c), nil
		}
	}
	return 0, fmt.Errorf("unknown cipher %q (want AES-128, AES-192, AES-256 or DES-EDE3)", name)
}

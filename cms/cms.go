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
	// ErrUnsupported: a valid structure using an algorithm this package
	// lacks, or a part it must read whole that exceeds its size limits.
	ErrUnsupported = errors.New("unsupported CMS")
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

// Cipher is how Encrypt encrypts: a content-encryption algorithm (the
// constants below) and, set with WithKeyTransport, how the content key is
// wrapped for each recipient (KeyTransport; RSA-OAEP with SHA-256 unless
// asked otherwise). The two travel together so that one value names the
// whole scheme wherever it is passed.
type Cipher int

const (
	AES128CBC Cipher = iota
	AES192CBC
	AES256CBC
	DES3CBC
)

// transportShift places the KeyTransport above the content algorithm.
const (
	transportShift = 8
	contentMask    = 1<<transportShift - 1
)

// KeyTransport is how Encrypt wraps the content key with each recipient's
// RSA key.
type KeyTransport int

const (
	// OAEPSHA256 is RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 4055,
	// RFC 8017), the default: PKCS#1 v1.5 encryption is open to padding
	// oracles. openssl cms -decrypt opens it.
	OAEPSHA256 KeyTransport = iota
	// PKCS1v15 is RSA PKCS#1 v1.5, what openssl cms -encrypt writes by
	// default, for readers that lack OAEP.
	PKCS1v15
)

// ParseKeyTransport maps a configuration name ("oaep", "pkcs1";
// case-insensitive) to a KeyTransport.
func ParseKeyTransport(name string) (KeyTransport, error) {
	switch strings.ToLower(name) {
	case "oaep":
		return OAEPSHA256, nil
	case "pkcs1":
		return PKCS1v15, nil
	}
	return 0, fmt.Errorf("unknown key transport %q (want oaep or pkcs1)", name)
}

func (k KeyTransport) String() string {
	switch k {
	case OAEPSHA256:
		return "RSA-OAEP-SHA256"
	case PKCS1v15:
		return "RSA-PKCS1v15"
	}
	return fmt.Sprintf("KeyTransport(%d)", int(k))
}

// WithKeyTransport returns c with its content key wrapped by k.
func (c Cipher) WithKeyTransport(k KeyTransport) Cipher {
	return c&contentMask | Cipher(k)<<transportShift
}

// KeyTransport is how c wraps the content key.
func (c Cipher) KeyTransport() KeyTransport { return KeyTransport(c >> transportShift) }

// content is c's content-encryption algorithm alone.
func (c Cipher) content() Cipher { return c & contentMask }

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
	if c < 0 || int(c.content()) >= len(cipherInfos) {
		return cipherInfo{}, false
	}
	return cipherInfos[c.content()], true
}

// String returns the content cipher's name as ParseCipher accepts it,
// e.g. "AES-128", followed by the key transport when it is not the default.
func (c Cipher) String() string {
	i, ok := c.info()
	if !ok {
		return fmt.Sprintf("Cipher(%d)", int(c))
	}
	if k := c.KeyTransport(); k != OAEPSHA256 {
		return i.name + " " + k.String()
	}
	return i.name
}

// ParseCipher maps a configuration name (`encryptionFormat`: "AES-128",
// "AES-192", "AES-256", "DES-EDE3"; case-insensitive, "AES128" also accepted)
// to a Cipher with the default key transport.
func ParseCipher(name string) (Cipher, error) {
	n := strings.ToUpper(strings.ReplaceAll(name, "-", ""))
	for c, i := range cipherInfos {
		if strings.ReplaceAll(i.name, "-", "") == n {
			return Cipher(c), nil
		}
	}
	return 0, fmt.Errorf("unknown cipher %q (want AES-128, AES-192, AES-256 or DES-EDE3)", name)
}

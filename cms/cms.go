// Package cms reads and writes CMS (PKCS#7) EnvelopedData, the format of the
// encrypted recordings: a streaming decoder on the standard library, and an
// encoder for tool-side encryption and the simulator.
package cms

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
)

// Cipher is a content-encryption algorithm.
type Cipher int

const (
	AES128CBC Cipher = iota
	AES192CBC
	AES256CBC
	DES3CBC
)

// Encrypt reads size bytes of plaintext from r and writes them to w as CMS
// EnvelopedData in DER, encrypted with c to every recipient certificate (RSA
// PKCS#1 v1.5 key transport, as openssl cms -encrypt does). random supplies
// the key and IV (crypto/rand.Reader in production; a seeded reader makes the
// simulator deterministic). Memory stays flat whatever size is.
func Encrypt(w io.Writer, r io.Reader, size int64, recipients []*x509.Certificate, c Cipher, random io.Reader) error {
	return errors.New("not implemented")
}

// Decrypt streams the EnvelopedData (DER or BER) or AuthEnvelopedData in r to
// w with key. When cert is not nil the RecipientInfo is matched by its issuer
// and serial. Bytes reach w before the padding or tag is checked: write to a
// temporary file and keep it only if Decrypt returns nil.
func Decrypt(w io.Writer, r io.Reader, key *rsa.PrivateKey, cert *x509.Certificate) error {
	return errors.New("not implemented")
}

// ParseKey reads an RSA private key in PEM: PKCS#1, PKCS#8, or encrypted
// PKCS#8 with passphrase.
func ParseKey(pemBytes, passphrase []byte) (*rsa.PrivateKey, error) {
	return nil, errors.New("not implemented")
}

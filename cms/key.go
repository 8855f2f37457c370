package cms

import (
	"bytes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// maxPBKDF2Iterations bounds the work a hostile key file can demand
// (openssl writes 2048; a million is already slow).
const maxPBKDF2Iterations = 10_000_000

// MinKeyBits is the smallest RSA key ParseKey accepts. Go's crypto/rsa
// refuses smaller keys for every operation, so such a key would load and
// then fail every file as bad padding; it is refused at load time instead.
const MinKeyBits = 1024

// ParseKey reads an RSA private key in PEM: PKCS#1 ("RSA PRIVATE KEY"),
// PKCS#8 ("PRIVATE KEY"), or encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY",
// PBES2 with PBKDF2 and AES-CBC or DES-EDE3-CBC, as openssl 3 writes) with
// passphrase. Like openssl, an unencrypted body is read by its content, so
// a PKCS#1 key under a "PRIVATE KEY" label loads too. An encrypted key with
// an empty passphrase is tried with the empty passphrase (openssl can write
// such keys). Legacy OpenSSL-encrypted PEM (Proc-Type: 4,ENCRYPTED) is
// refused with a hint: its MD5-based key derivation is obsolete; so are
// keys under MinKeyBits and DER files (with the command that converts them).
// Errors wrap ErrKey, say what to do in words for an admin, and never
// contain the passphrase.
func ParseKey(pemBytes, passphrase []byte) (*rsa.PrivateKey, error) {
	k, err := parseKeyPEM(pemBytes, passphrase)
	if err != nil {
		return nil, err
	}
	if bits := k.N.BitLen(); bits < MinKeyBits {
		return nil, fmt.Errorf("%w: an RSA key of %d bits: keys under %d bits are insecure and cannot be used here "+
			"(openssl cms -decrypt still opens such files); re-key with at least 2048 bits", ErrKey, bits, MinKeyBits)
	}
	return k, nil
}

func parseKeyPEM(pemBytes, passphrase []byte) (*rsa.PrivateKey, error) {
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, noPEMKey(pemBytes)
		}
		switch block.Type {
		case "RSA PRIVATE KEY", "PRIVATE KEY":
			if _, ok := block.Headers["DEK-Info"]; ok {
				return nil, fmt.Errorf("%w: legacy encrypted PEM is not supported; convert it with "+
					"openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD.pem -out NEW.pem", ErrKey)
			}
			return parseRSAKeyDER(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return parseEncryptedPKCS8(block.Bytes, passphrase)
		case "EC PRIVATE KEY":
			return nil, fmt.Errorf("%w: an EC key, not an RSA key", ErrKey)
		}
	}
}

// noPEMKey says why no key was found, with the conversion command when the
// file looks like DER (binary, starting with a SEQUENCE).
func noPEMKey(b []byte) error {
	if looksDER(b) {
		return fmt.Errorf("%w: no PEM private key found; the file looks like DER (binary): "+
			"convert it with openssl pkey -inform DER -in KEY -out KEY.pem", ErrKey)
	}
	return fmt.Errorf("%w: no PEM private key found (want -----BEGIN PRIVATE KEY-----, "+
		"-----BEGIN RSA PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)", ErrKey)
}

// looksDER: binary, starting with a SEQUENCE, and no PEM in it.
func looksDER(b []byte) bool {
	return len(b) > 1 && b[0] == 0x30 && !bytes.Contains(b, []byte("-----BEGIN"))
}

// parseRSAKeyDER reads an unencrypted PKCS#8 or PKCS#1 RSA key, whichever
// the bytes are.
func parseRSAKeyDER(der []byte) (*rsa.PrivateKey, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: %s, not an RSA key", ErrKey, keyKind(k))
		}
		return rk, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if _, err := x509.ParseECPrivateKey(der); err == nil {
		return nil, fmt.Errorf("%w: an EC key, not an RSA key", ErrKey)
	}
	return nil, errNotAKey
}

// errNotAKey: the bytes are no private key at all.
var errNotAKey = fmt.Errorf("%w: the PEM block holds neither a PKCS#8 nor a PKCS#1 RSA private key (damaged or truncated file?)", ErrKey)

func keyKind(k any) string {
	switch k.(type) {
	case *ecdsa.PrivateKey:
		return "an EC key"
	case ed25519.PrivateKey:
		return "an Ed25519 key"
	case *ecdh.PrivateKey:
		return "an X25519 key"
	}
	return "a key of another kind"
}

// ParseCertificate reads the first PEM certificate in pemBytes; one with a
// negative serial number is accepted, as openssl does (see parseCertificate).
func ParseCertificate(pemBytes []byte) (*x509.Certificate, error) {
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if looksDER(pemBytes) {
				return nil, errors.New("no PEM certificate found; the file looks like DER (binary): " +
					"convert it with openssl x509 -inform DER -in CERT -out CERT.pem")
			}
			return nil, errors.New("no PEM certificate found (want -----BEGIN CERTIFICATE-----)")
		}
		if block.Type == "CERTIFICATE" {
			c, err := parseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return c, nil
		}
	}
}

type encryptedPrivateKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Data      []byte
}

type pbes2Params struct {
	KDF    pkix.AlgorithmIdentifier
	Scheme pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

// errWrongPassphrase: the decrypted key did not check out.
var errWrongPassphrase = fmt.Errorf("%w: wrong passphrase (RCBS_KEY_PASSPHRASE)", ErrKey)

func parseEncryptedPKCS8(der, passphrase []byte) (*rsa.PrivateKey, error) {
	var info encryptedPrivateKeyInfo
	var p pbes2Params
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("%w: the encrypted PKCS#8 key is damaged (not valid DER)", ErrKey)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("%w: encryption %v is not PBES2 (re-encrypt with openssl pkcs8 -topk8 -v2 aes-256-cbc)", ErrKey, info.Algorithm.Algorithm)
	}
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("%w: the PBES2 parameters are damaged (not valid DER)", ErrKey)
	}
	k, err := decryptPKCS8(p, info.Data, passphrase)
	if errors.Is(err, errWrongPassphrase) && len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: the key is encrypted and no passphrase was given (set RCBS_KEY_PASSPHRASE)", ErrKey)
	}
	return k, err
}

func decryptPKCS8(p pbes2Params, data, passphrase []byte) (*rsa.PrivateKey, error) {
	plain, err := pbes2Decrypt(p, data, passphrase)
	if err != nil {
		return nil, err
	}
	k, err := parseRSAKeyDER(plain)
	if errors.Is(err, errNotAKey) { // the padding matched by chance
		return nil, errWrongPassphrase
	}
	return k, err
}

func pbes2Decrypt(p pbes2Params, data, passphrase []byte) ([]byte, error) {
	alg, err := contentAlgOf(p.Scheme)
	if err != nil || alg.gcm {
		return nil, fmt.Errorf("%w: PBES2 cipher %v is not supported", ErrKey, p.Scheme.Algorithm)
	}
	key, err := pbkdf2Key(p.KDF, passphrase, alg.keyLen)
	if err != nil {
		return nil, err
	}
	block, err := alg.block(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	bs := block.BlockSize()
	if len(data) == 0 || len(data)%bs != 0 {
		return nil, fmt.Errorf("%w: encrypted key length %d", ErrKey, len(data))
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, alg.iv).CryptBlocks(plain, data)
	n, ok := unpad(plain[len(plain)-bs:])
	if !ok {
		return nil, errWrongPassphrase
	}
	return plain[:len(plain)-bs+n], nil
}

func pbkdf2Key(kdf pkix.AlgorithmIdentifier, passphrase []byte, keyLen int) ([]byte, error) {
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: key derivation %v is not PBKDF2", ErrKey, kdf.Algorithm)
	}
	var p pbkdf2Params
	if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("%w: the PBKDF2 parameters are damaged (not valid DER)", ErrKey)
	}
	if p.Iterations < 1 || p.Iterations > maxPBKDF2Iterations || (p.KeyLength != 0 && p.KeyLength != keyLen) {
		return nil, fmt.Errorf("%w: PBKDF2 iterations %d, key length %d", ErrKey, p.Iterations, p.KeyLength)
	}
	h, err := prfHash(p.PRF)
	if err != nil {
		return nil, err
	}
	k, err := pbkdf2.Key(h, string(passphrase), p.Salt, p.Iterations, keyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: PBKDF2: %v", ErrKey, err)
	}
	return k, nil
}

func prfHash(prf pkix.AlgorithmIdentifier) (func() hash.Hash, error) {
	switch {
	case prf.Algorithm == nil, prf.Algorithm.Equal(oidHMACWithSHA1):
		return sha1.New, nil
	case prf.Algorithm.Equal(oidHMACWithSHA224):
		return sha256.New224, nil
	case prf.Algorithm.Equal(oidHMACWithSHA256):
		return sha256.New, nil
	case prf.Algorithm.Equal(oidHMACWithSHA384):
		return sha512.New384, nil
	case prf.Algorithm.Equal(oidHMACWithSHA512):
		return sha512.New, nil
	}
	return nil, fmt.Errorf("%w: PBKDF2 PRF %v", ErrKey, prf.Algorithm)
}

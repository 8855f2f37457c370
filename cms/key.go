package cms

import (
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"hash"
)

// maxPBKDF2Iterations bounds the work a hostile key file can demand
// (openssl writes 2048; a million is already slow).
const maxPBKDF2Iterations = 10_000_000

// ParseKey reads an RSA private key in PEM: PKCS#1 ("RSA PRIVATE KEY"),
// PKCS#8 ("PRIVATE KEY"), or encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY",
// PBES2 with PBKDF2 and AES-CBC or DES-EDE3-CBC, as openssl 3 writes) with
// passphrase. Legacy OpenSSL-encrypted PEM (Proc-Type: 4,ENCRYPTED) is
// refused with a hint: its MD5-based key derivation is obsolete. Errors wrap
// ErrKey and never contain the passphrase.
func ParseKey(pemBytes, passphrase []byte) (*rsa.PrivateKey, error) {
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: no PEM private key found", ErrKey)
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			return parsePKCS1(block)
		case "PRIVATE KEY":
			return parsePKCS8(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return parseEncryptedPKCS8(block.Bytes, passphrase)
		}
	}
}

// ParseCertificate reads the first PEM certificate in pemBytes.
func ParseCertificate(pemBytes []byte) (*x509.Certificate, error) {
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("no PEM certificate found")
		}
		if block.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return c, nil
		}
	}
}

func parsePKCS1(block *pem.Block) (*rsa.PrivateKey, error) {
	if _, ok := block.Headers["DEK-Info"]; ok {
		return nil, fmt.Errorf("%w: legacy encrypted PEM is not supported; convert it with "+
			"openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD.pem -out NEW.pem", ErrKey)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#1: %v", ErrKey, err)
	}
	return k, nil
}

func parsePKCS8(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: PKCS#8: %v", ErrKey, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: a %T, not an RSA key", ErrKey, k)
	}
	return rk, nil
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

func parseEncryptedPKCS8(der, passphrase []byte) (*rsa.PrivateKey, error) {
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: the key is encrypted and no passphrase was given (set RCBS_KEY_PASSPHRASE)", ErrKey)
	}
	var info encryptedPrivateKeyInfo
	var p pbes2Params
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("%w: encrypted PKCS#8: %v", ErrKey, err)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("%w: encryption %v is not PBES2 (re-encrypt with openssl pkcs8 -topk8 -v2 aes-256-cbc)", ErrKey, info.Algorithm.Algorithm)
	}
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("%w: PBES2 parameters: %v", ErrKey, err)
	}
	plain, err := pbes2Decrypt(p, info.Data, passphrase)
	if err != nil {
		return nil, err
	}
	k, err := parsePKCS8(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong passphrase?", ErrKey)
	}
	return k, nil
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
		return nil, fmt.Errorf("%w: wrong passphrase", ErrKey)
	}
	return plain[:len(plain)-bs+n], nil
}

func pbkdf2Key(kdf pkix.AlgorithmIdentifier, passphrase []byte, keyLen int) ([]byte, error) {
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: key derivation %v is not PBKDF2", ErrKey, kdf.Algorithm)
	}
	var p pbkdf2Params
	if _, err := asn1.Unmarshal(kdf.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("%w: PBKDF2 parameters: %v", ErrKey, err)
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

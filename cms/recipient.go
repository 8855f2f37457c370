package cms

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1" // OAEP hashes, registered for crypto.Hash
	_ "crypto/sha256"
	_ "crypto/sha512"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// recipientInfo is a KeyTransRecipientInfo (RFC 5652 §6.2.1); rid is either
// an IssuerAndSerialNumber SEQUENCE or a [0] SubjectKeyIdentifier.
type recipientInfo struct {
	Version      int
	RID          asn1.RawValue
	KeyEncAlg    pkix.AlgorithmIdentifier
	EncryptedKey []byte
}

type oaepParams struct {
	Hash    pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:0"`
	MGF     pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
	PSource pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:2"`
}

// parseRecipient reads one KeyTransRecipientInfo (DER).
func parseRecipient(der []byte) (recipientInfo, error) {
	var ri recipientInfo
	if rest, err := asn1.Unmarshal(der, &ri); err != nil || len(rest) > 0 {
		return ri, fmt.Errorf("%w: recipientInfo: %v", ErrMalformed, err)
	}
	return ri, nil
}

// matches reports whether ri names cert by issuer and serial (the issuer
// compared as openssl does, see sameName) or by subject key identifier.
func (ri recipientInfo) matches(cert *x509.Certificate) bool {
	switch {
	case ri.RID.Class == classUniversal && ri.RID.Tag == tagSequence:
		var ias struct {
			Issuer asn1.RawValue
			Serial *big.Int
		}
		if _, err := asn1.Unmarshal(ri.RID.FullBytes, &ias); err != nil {
			return false
		}
		return ias.Serial.Cmp(cert.SerialNumber) == 0 && sameName(ias.Issuer.FullBytes, cert.RawIssuer)
	case ri.RID.Class == classContext && ri.RID.Tag == 0:
		return len(cert.SubjectKeyId) > 0 && bytes.Equal(ri.RID.Bytes, cert.SubjectKeyId)
	}
	return false
}

// contentKey finds the content-encryption key of keyLen bytes.
//
// With cert, only the RecipientInfo naming it is used, and a PKCS#1 v1.5
// unwrap is constant-time (rsa.DecryptPKCS1v15SessionKey): a bad unwrap
// leaves a random key, so a wrong key shows as bad padding or a bad tag,
// never as a distinguishable early error (no padding oracle). Without cert,
// like openssl, every key-transport RecipientInfo is tried (all of them,
// without stopping early, so the timing does not tell which one fit); the
// last one that unwraps cleanly wins, and when none does a random key is
// used, so the file then fails on its padding — except about 1 in 256
// times, when a wrong key yields valid-looking padding and garbage. -cert
// removes that case.
func contentKey(ris []recipientInfo, key *rsa.PrivateKey, cert *x509.Certificate, keyLen int) ([]byte, error) {
	if cert != nil {
		for _, ri := range ris {
			if ri.matches(cert) {
				k, _, err := unwrap(ri, key, keyLen)
				return k, err
			}
		}
		return nil, fmt.Errorf("%w: the file is not encrypted to certificate %s (serial %s)", ErrNoRecipient, cert.Subject, cert.SerialNumber)
	}
	if len(ris) == 0 {
		return nil, fmt.Errorf("%w: no key-transport RecipientInfo", ErrNoRecipient)
	}
	found, err := randomKey(keyLen)
	if err != nil {
		return nil, err
	}
	var lastErr error
	tried := 0
	for _, ri := range ris {
		k, ok, err := unwrap(ri, key, keyLen)
		if err != nil {
			lastErr = err
			continue
		}
		tried++
		if ok {
			found = k
		}
	}
	if tried == 0 {
		return nil, lastErr
	}
	return found, nil
}

func randomKey(n int) ([]byte, error) {
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	return k, nil
}

// unwrap decrypts ri's key. ok says whether the unwrap was clean; when it
// was not, k is random (PKCS#1 v1.5) so that a caller that ignores ok fails
// later, in constant time. err is only for unsupported algorithms.
func unwrap(ri recipientInfo, key *rsa.PrivateKey, keyLen int) (k []byte, ok bool, err error) {
	switch {
	case ri.KeyEncAlg.Algorithm.Equal(oidRSAEncryption):
		return unwrapPKCS1v15(ri.EncryptedKey, key, keyLen)
	case ri.KeyEncAlg.Algorithm.Equal(oidRSAOAEP):
		return unwrapOAEP(ri, key, keyLen)
	}
	return nil, false, fmt.Errorf("%w: key transport %v", ErrUnsupported, ri.KeyEncAlg.Algorithm)
}

func unwrapPKCS1v15(ek []byte, key *rsa.PrivateKey, keyLen int) ([]byte, bool, error) {
	k, err := randomKey(keyLen)
	if err != nil {
		return nil, false, err
	}
	before := bytes.Clone(k)
	//lint:ignore SA1019 the cloud and openssl cms wrap keys with PKCS#1 v1.5; the session-key form is the constant-time (Bleichenbacher-safe) way to open them.
	if err := rsa.DecryptPKCS1v15SessionKey(nil, key, ek, k); err != nil {
		return k, false, nil // wrong length for this key: public information
	}
	return k, subtle.ConstantTimeCompare(before, k) == 0, nil
}

func unwrapOAEP(ri recipientInfo, key *rsa.PrivateKey, keyLen int) ([]byte, bool, error) {
	opts, err := parseOAEP(ri.KeyEncAlg.Parameters)
	if err != nil {
		return nil, false, err
	}
	k, err := key.Decrypt(nil, ri.EncryptedKey, opts)
	if err != nil || len(k) != keyLen {
		r, rerr := randomKey(keyLen)
		return r, false, rerr
	}
	return k, true, nil
}

// parseOAEP reads RSAES-OAEP-params (RFC 4055); absent fields take the
// defaults SHA-1, MGF1 with SHA-1, empty label.
func parseOAEP(raw asn1.RawValue) (*rsa.OAEPOptions, error) {
	opts := &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}
	if len(raw.FullBytes) == 0 || raw.Tag == 5 { // absent or NULL
		return opts, nil
	}
	var p oaepParams
	if rest, err := asn1.Unmarshal(raw.FullBytes, &p); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("%w: OAEP parameters: %v", ErrMalformed, err)
	}
	var err error
	if p.Hash.Algorithm != nil {
		if opts.Hash, err = hashByOID(p.Hash.Algorithm); err != nil {
			return nil, err
		}
	}
	if p.MGF.Algorithm != nil {
		if opts.MGFHash, err = parseMGF1(p.MGF); err != nil {
			return nil, err
		}
	}
	if p.PSource.Algorithm != nil {
		if opts.Label, err = parsePSource(p.PSource); err != nil {
			return nil, err
		}
	}
	return opts, nil
}

func parseMGF1(alg pkix.AlgorithmIdentifier) (crypto.Hash, error) {
	if !alg.Algorithm.Equal(oidMGF1) {
		return 0, fmt.Errorf("%w: OAEP mask generation %v", ErrUnsupported, alg.Algorithm)
	}
	var h pkix.AlgorithmIdentifier
	if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &h); err != nil {
		return 0, fmt.Errorf("%w: MGF1 parameters: %v", ErrMalformed, err)
	}
	return hashByOID(h.Algorithm)
}

func parsePSource(alg pkix.AlgorithmIdentifier) ([]byte, error) {
	if !alg.Algorithm.Equal(oidPSpecified) {
		return nil, fmt.Errorf("%w: OAEP label source %v", ErrUnsupported, alg.Algorithm)
	}
	var label []byte
	if len(alg.Parameters.FullBytes) == 0 {
		return nil, nil
	}
	if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &label); err != nil {
		return nil, fmt.Errorf("%w: OAEP label: %v", ErrMalformed, err)
	}
	return label, nil
}

func hashByOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	for _, h := range []struct {
		oid  asn1.ObjectIdentifier
		hash crypto.Hash
	}{
		{oidSHA1, crypto.SHA1}, {oidSHA224, crypto.SHA224}, {oidSHA256, crypto.SHA256},
		{oidSHA384, crypto.SHA384}, {oidSHA512, crypto.SHA512},
	} {
		if oid.Equal(h.oid) {
			return h.hash, nil
		}
	}
	return 0, fmt.Errorf("%w: hash %v", ErrUnsupported, oid)
}

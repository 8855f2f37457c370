package cms

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// parseCertificate is x509.ParseCertificate, except that a negative
// serial number (old CAs issued them; Go's x509 refuses them, openssl does
// not) is accepted: the certificate is parsed with a stand-in serial and
// then given its own. Nothing here verifies signatures, so the stand-in
// changes nothing else; Raw stays the original DER.
func parseCertificate(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err == nil {
		return c, nil
	}
	serial, serr := certSerial(der)
	if serr != nil || serial.Sign() >= 0 {
		return nil, err
	}
	standIn, rerr := replaceSerial(der, big.NewInt(1))
	if rerr != nil {
		return nil, err
	}
	c, perr := x509.ParseCertificate(standIn)
	if perr != nil {
		return nil, err
	}
	c.SerialNumber, c.Raw = serial, der
	return c, nil
}

// certParts splits a Certificate's DER around the serialNumber of its
// TBSCertificate: what comes before it in the TBS (the [0] version), the
// serial's own DER, the rest of the TBS, and what follows the TBS.
func certParts(der []byte) (before, serial, after, sig []byte, err error) {
	bad := errors.New("not a DER certificate")
	var cert, tbs, first asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &cert); err != nil || len(rest) > 0 || cert.Tag != asn1.TagSequence {
		return nil, nil, nil, nil, bad
	}
	sig, err = asn1.Unmarshal(cert.Bytes, &tbs)
	if err != nil || tbs.Tag != asn1.TagSequence {
		return nil, nil, nil, nil, bad
	}
	after, err = asn1.Unmarshal(tbs.Bytes, &first)
	if err != nil {
		return nil, nil, nil, nil, bad
	}
	if first.Class == asn1.ClassContextSpecific && first.Tag == 0 {
		before = first.FullBytes
		if after, err = asn1.Unmarshal(after, &first); err != nil {
			return nil, nil, nil, nil, bad
		}
	}
	if first.Class != asn1.ClassUniversal || first.Tag != asn1.TagInteger {
		return nil, nil, nil, nil, bad
	}
	return before, first.FullBytes, after, sig, nil
}

// certSerial reads a certificate's serial number, negative ones included.
func certSerial(der []byte) (*big.Int, error) {
	_, raw, _, _, err := certParts(der)
	if err != nil {
		return nil, err
	}
	n := new(big.Int)
	if _, err := asn1.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("certificate serial: %w", err)
	}
	return n, nil
}

// replaceSerial returns the certificate DER with another serial number.
func replaceSerial(der []byte, serial *big.Int) ([]byte, error) {
	before, _, after, sig, err := certParts(der)
	if err != nil {
		return nil, err
	}
	s, err := asn1.Marshal(serial)
	if err != nil {
		return nil, err
	}
	tbs, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true,
		Bytes: append(append(append([]byte{}, before...), s...), after...)})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(tbs, sig...)})
}

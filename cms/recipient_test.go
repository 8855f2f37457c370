package cms

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// nameDER encodes a Name of one RDN per (oid, tag, value) by hand, so that
// the string type is the one asked for (Go's pkix always picks its own).
func nameDER(t *testing.T, atvs ...any) []byte {
	t.Helper()
	var rdns []byte
	for i := 0; i < len(atvs); i += 3 {
		oid, tag, v := atvs[i].(asn1.ObjectIdentifier), atvs[i+1].(int), []byte(atvs[i+2].(string))
		switch tag {
		case tagBMPString:
			var u []byte
			for _, r := range atvs[i+2].(string) {
				u = append(u, byte(r>>8), byte(r))
			}
			v = u
		case tagUniversalString:
			var u []byte
			for _, r := range atvs[i+2].(string) {
				u = append(u, byte(r>>24), byte(r>>16), byte(r>>8), byte(r))
			}
			v = u
		}
		o, _ := asn1.Marshal(oid)
		val, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: v})
		if err != nil {
			t.Fatal(err)
		}
		atv, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(o, val...)})
		set, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: atv})
		rdns = append(rdns, set...)
	}
	name, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: rdns})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

var (
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO  = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidC  = asn1.ObjectIdentifier{2, 5, 4, 6}
)

// certIssuedBy makes a certificate for p's key with the given issuer Name
// (DER) and serial, written as PEM to a file; the signature is by p's key
// (nobody verifies it here, as openssl cms does not either).
func certIssuedBy(t *testing.T, p cmstest.PKI, issuer []byte, serial int64, name string) (*x509.Certificate, string) {
	t.Helper()
	file := certFileIssuedBy(t, p, issuer, serial, name)
	c, err := ParseCertificate(read(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return c, file
}

// certFileIssuedBy is certIssuedBy for openssl alone: Go's x509 cannot
// read every issuer Name (a UniversalString, say).
func certFileIssuedBy(t *testing.T, p cmstest.PKI, issuer []byte, serial int64, name string) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "recipient"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	parent := &x509.Certificate{RawSubject: issuer}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &p.Key.PublicKey, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestMatchIssuerCanonical: -cert finds the recipient when the file names
// the certificate's issuer with other string types, letter case or spaces
// (as Java/BouncyCastle producers write it), as openssl does (RFC 5280
// §7.1); a really different issuer or serial still does not match.
func TestMatchIssuerCanonical(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	printable := nameDER(t, oidC, tagPrintableString, "DE", oidO, tagPrintableString, "Example Corp", oidCN, tagPrintableString, "Recordings CA")
	tests := []struct {
		name   string
		issuer []byte // the certificate's; the file names printable
		serial int64
		match  bool
		// inFile swaps them: the file names issuer, the certificate
		// printable. Go's x509 reads no certificate whose issuer has a
		// UniversalString, but a producer may write one into the file.
		inFile bool
	}{
		{"same bytes", printable, 7, true, false},
		{"UTF8String", nameDER(t, oidC, tagPrintableString, "DE", oidO, tagUTF8String, "Example Corp", oidCN, tagUTF8String, "Recordings CA"), 7, true, false},
		{"BMPString", nameDER(t, oidC, tagPrintableString, "DE", oidO, tagBMPString, "Example Corp", oidCN, tagBMPString, "Recordings CA"), 7, true, false},
		{"UniversalString in the file", nameDER(t, oidC, tagPrintableString, "DE", oidO, tagUniversalString, "Example Corp", oidCN, tagUniversalString, "Recordings CA"), 7, true, true},
		{"letter case and spaces", nameDER(t, oidC, tagPrintableString, "de", oidO, tagUTF8String, " EXAMPLE   corp ", oidCN, tagUTF8String, "recordings ca"), 7, true, false},
		{"other name", nameDER(t, oidC, tagPrintableString, "DE", oidO, tagUTF8String, "Example Corp", oidCN, tagUTF8String, "Recordings CA 2"), 7, false, false},
		{"other name in UniversalString in the file", nameDER(t, oidC, tagPrintableString, "DE", oidO, tagUniversalString, "Example Corp", oidCN, tagUniversalString, "Recordings CB"), 7, false, true},
		{"other order", nameDER(t, oidO, tagUTF8String, "Example Corp", oidC, tagPrintableString, "DE", oidCN, tagUTF8String, "Recordings CA"), 7, false, false},
		{"other serial", printable, 8, false, false},
	}
	plain := []byte("a recording")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fileIssuer, certIssuer := printable, tt.issuer
			if tt.inFile {
				fileIssuer, certIssuer = tt.issuer, printable
			}
			encryptedTo := certFileIssuedBy(t, p, fileIssuer, 7, "to.crt")
			file := opensslEncrypt(t, t.TempDir(), plain, variant{"aes128", []string{"-aes128"}}, cmstest.PKI{CertFile: encryptedTo})
			cert, certFile := certIssuedBy(t, p, certIssuer, tt.serial, "c.crt")
			var out bytes.Buffer
			err := Decrypt(&out, bytes.NewReader(read(t, file)), p.Key, cert)
			if tt.match != (err == nil) || (err == nil && !bytes.Equal(out.Bytes(), plain)) {
				t.Fatalf("Decrypt with -cert: %v, want match %v", err, tt.match)
			}
			// openssl agrees: -recip selects the RecipientInfo the same way.
			_, oerr := cmstest.TryOpenSSL("cms", "-decrypt", "-binary", "-inform", "DER", "-in", file, "-inkey", p.KeyFile, "-recip", certFile)
			if tt.match != (oerr == nil) {
				t.Fatalf("premise: openssl -recip match %v (%v), want %v", oerr == nil, oerr, tt.match)
			}
		})
	}
}

// TestNegativeSerial: a recipient certificate with a negative serial (old
// CAs wrote them; Go's x509 refuses them) is read and matched as openssl
// does.
func TestNegativeSerial(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	issuer := nameDER(t, oidCN, tagUTF8String, "Old CA")
	_, positive := certIssuedBy(t, p, issuer, 0x1234, "pos.crt")
	negFile := filepath.Join(dir, "neg.crt")
	if err := os.WriteFile(negFile, withSerial(t, read(t, positive), -0x1234), 0o600); err != nil {
		t.Fatal(err)
	}
	plain := []byte("an old recording")
	file := opensslEncrypt(t, dir, plain, variant{"aes128", []string{"-aes128"}}, cmstest.PKI{CertFile: negFile})
	cmstest.OpenSSL(t, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", file, "-inkey", p.KeyFile, "-recip", negFile)

	cert, err := ParseCertificate(read(t, negFile))
	if err != nil {
		t.Fatalf("ParseCertificate: %v", err)
	}
	if cert.SerialNumber.Int64() != -0x1234 || !p.Key.PublicKey.Equal(cert.PublicKey) {
		t.Fatalf("serial %v, key equal %v", cert.SerialNumber, p.Key.PublicKey.Equal(cert.PublicKey))
	}
	var out bytes.Buffer
	if err := Decrypt(&out, bytes.NewReader(read(t, file)), p.Key, cert); err != nil || !bytes.Equal(out.Bytes(), plain) {
		t.Fatalf("Decrypt: %v", err)
	}
	// The positive twin is another certificate.
	pos, err := ParseCertificate(read(t, positive))
	if err != nil {
		t.Fatal(err)
	}
	if err := Decrypt(&bytes.Buffer{}, bytes.NewReader(read(t, file)), p.Key, pos); err == nil {
		t.Fatal("serial 0x1234 matched -0x1234")
	}
}

// withSerial rewrites a PEM certificate's serial (the signature no longer
// fits, which nothing here checks).
func withSerial(t *testing.T, pemBytes []byte, serial int64) []byte {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	der, err := replaceSerial(block.Bytes, big.NewInt(serial))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

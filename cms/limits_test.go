package cms

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// der encodes one element of the given universal/context tag.
func derTLV(t *testing.T, class, tag int, compound bool, content []byte) []byte {
	t.Helper()
	b, err := asn1.Marshal(asn1.RawValue{Class: class, Tag: tag, IsCompound: compound, Bytes: content})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamParts splits an openssl -stream file (indefinite outer lengths)
// into the head up to and including the EnvelopedData version, the
// RecipientInfos SET, the rest up to the three closing end-of-contents of
// EnvelopedData, [0] and ContentInfo, and those.
func streamParts(t *testing.T, data []byte) (head, ris, body, tail []byte) {
	t.Helper()
	i := bytes.Index(data, []byte{0x30, 0x80, 0x02, 0x01, 0x00})
	if i < 0 || !bytes.HasSuffix(data, make([]byte, 6)) {
		t.Fatal("premise: not an openssl -stream EnvelopedData")
	}
	head = data[:i+5]
	var set asn1.RawValue
	rest, err := asn1.Unmarshal(data[i+5:], &set)
	if err != nil || set.Tag != asn1.TagSet {
		t.Fatalf("premise: no RecipientInfos SET: %v", err)
	}
	return head, set.FullBytes, rest[:len(rest)-6], rest[len(rest)-6:]
}

// TestIgnoredPartsOverTheLimit: parts rcbs does not use may be larger than
// the 1 MiB element limit (openssl reads such files): originatorInfo with
// many certificates, unprotectedAttrs, thousands of recipients. They are
// skipped or streamed; the plaintext is openssl's.
func TestIgnoredPartsOverTheLimit(t *testing.T) {
	dir := t.TempDir()
	p := cmstest.NewPKI(t, dir, "alice")
	plain := randomBytes(t, 3000)
	head, ris, body, tail := streamParts(t, fixtures(t, p, plain)["stream"])

	// originatorInfo [0] { certificates [0] { 2000 × alice's certificate } }
	certs := bytes.Repeat(p.Cert.Raw, (maxElement+200_000)/len(p.Cert.Raw))
	originator := derTLV(t, asn1.ClassContextSpecific, 0, true, derTLV(t, asn1.ClassContextSpecific, 0, true, certs))

	// unprotectedAttrs [1] { Attribute { OID, SET { OCTET STRING of 1.2 MiB } } }
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 3, 4})
	value := derTLV(t, asn1.ClassUniversal, asn1.TagOctetString, false, make([]byte, maxElement+200_000))
	attr := derTLV(t, asn1.ClassUniversal, asn1.TagSequence, true, append(oid, derTLV(t, asn1.ClassUniversal, asn1.TagSet, true, value)...))
	unprotected := derTLV(t, asn1.ClassContextSpecific, 1, true, attr)

	manyRIs := otherRecipients(t, ris, maxElement) // thousands
	if len(manyRIs) <= maxElement || len(certs) <= maxElement {
		t.Fatal("premise: the parts are not over the limit")
	}

	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		data []byte
	}{
		{"originatorInfo", cat(head, originator, ris, body, tail)},
		{"unprotectedAttrs", cat(head, ris, body, unprotected, tail)},
		{"thousands of recipients", cat(head, manyRIs, body, tail)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "f.bin")
			if err := os.WriteFile(f, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			// premise: openssl reads it (with -recip: one unwrap, not thousands)
			out := filepath.Join(t.TempDir(), "out")
			cmstest.OpenSSL(t, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", f, "-inkey", p.KeyFile, "-recip", p.CertFile, "-out", out)
			if !bytes.Equal(read(t, out), plain) {
				t.Fatal("premise: openssl decrypts something else")
			}
			got, err := decryptBytes(t, tt.data, p, p.Cert)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("with -cert: %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestRealLimitIsUnsupported: an element rcbs must read whole and that is
// over the limit is reported as unsupported, naming the field, not as a
// malformed file.
func TestRealLimitIsUnsupported(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	head, ris, body, tail := streamParts(t, fixtures(t, p, randomBytes(t, 100))["stream"])
	ri, own := aliceRecipient(t, ris)
	ri.EncryptedKey = make([]byte, maxElement+10)
	b, err := asn1.Marshal(ri)
	if err != nil {
		t.Fatal(err)
	}
	bigRIs := derTLV(t, asn1.ClassUniversal, asn1.TagSet, true, append(b, own...))
	_, err = decryptBytes(t, bytes.Join([][]byte{head, bigRIs, body, tail}, nil), p, p.Cert)
	if !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "recipientInfo") {
		t.Fatalf("got %v, want ErrUnsupported naming recipientInfo", err)
	}
}

// TestTooManyRecipientsToTry: without a certificate every key-transport
// RecipientInfo would be tried, an RSA decryption each; past
// maxRecipientBytes of them the file is refused as unsupported, with the
// way out (-cert) in the message, before any is tried. With the
// certificate the same file decrypts.
func TestTooManyRecipientsToTry(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	plain := randomBytes(t, 100)
	head, ris, body, tail := streamParts(t, fixtures(t, p, plain)["stream"])
	data := bytes.Join([][]byte{head, otherRecipients(t, ris, maxRecipientBytes), body, tail}, nil)
	_, err := decryptBytes(t, data, p, nil)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "(-cert)") {
		t.Fatalf("without a certificate: %v, want ErrUnsupported naming -cert", err)
	}
	if got, err := decryptBytes(t, data, p, p.Cert); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("with the certificate: %d bytes, %v", len(got), err)
	}
}

// otherRecipients returns the RecipientInfos SET ris (alice's alone) with
// copies of her RecipientInfo under the serials 1, 2, … before hers, as
// many as it takes to fill more than fill bytes.
func otherRecipients(t *testing.T, ris []byte, fill int) []byte {
	t.Helper()
	ri, own := aliceRecipient(t, ris)
	var many []byte
	for i := 1; len(many) <= fill; i++ {
		other := ri
		other.RID.Serial = big.NewInt(int64(i))
		b, err := asn1.Marshal(other)
		if err != nil {
			t.Fatal(err)
		}
		many = append(many, b...)
	}
	return derTLV(t, asn1.ClassUniversal, asn1.TagSet, true, append(many, own...))
}

// aliceRecipient parses the one RecipientInfo in the SET ris and returns it
// with its DER.
func aliceRecipient(t *testing.T, ris []byte) (keyTransRI, []byte) {
	t.Helper()
	var set asn1.RawValue
	asn1.Unmarshal(ris, &set)
	var ri keyTransRI
	if rest, err := asn1.Unmarshal(set.Bytes, &ri); err != nil || len(rest) > 0 {
		t.Fatalf("premise: not one RecipientInfo: %v", err)
	}
	return ri, set.Bytes
}

// TestRecipientsToTryBound: the bound is on the bytes of the RecipientInfos
// kept to be tried, maxRecipientBytes included. Here they all name alice
// (her own, then copies with longer encrypted keys that are never
// unwrapped: her certificate picks the first), so only one RSA decryption
// is made whatever their number.
func TestRecipientsToTryBound(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	plain := randomBytes(t, 100)
	head, ris, body, tail := streamParts(t, fixtures(t, p, plain)["stream"])
	for _, total := range []int{maxRecipientBytes, maxRecipientBytes + 1} {
		set := derTLV(t, asn1.ClassUniversal, asn1.TagSet, true, recipientsOfSize(t, ris, total))
		got, err := decryptBytes(t, bytes.Join([][]byte{head, set, body, tail}, nil), p, p.Cert)
		if total <= maxRecipientBytes && (err != nil || !bytes.Equal(got, plain)) {
			t.Fatalf("%d bytes of recipients: %d bytes, %v", total, len(got), err)
		}
		if total > maxRecipientBytes && !errors.Is(err, ErrUnsupported) {
			t.Fatalf("%d bytes of recipients: %v, want ErrUnsupported", total, err)
		}
	}
}

// recipientsOfSize returns alice's RecipientInfo from the SET ris followed
// by copies of it whose encrypted keys are lengthened so that the whole is
// exactly total bytes of DER.
func recipientsOfSize(t *testing.T, ris []byte, total int) []byte {
	t.Helper()
	ri, own := aliceRecipient(t, ris)
	marshal := func(keyLen int) []byte {
		c := ri
		c.EncryptedKey = make([]byte, keyLen)
		b, err := asn1.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := bytes.Clone(own)
	full := marshal(1000)
	for total-len(out) > 2*len(full) {
		out = append(out, full...)
	}
	// The rest in one or two copies of at least half a full one: all
	// lengths take two bytes, so that every size can be made.
	for total > len(out) {
		want := total - len(out)
		if want > len(full) {
			want /= 2
		}
		keyLen := len(ri.EncryptedKey)
		for len(marshal(keyLen)) < want {
			keyLen++
		}
		if len(marshal(keyLen)) != want {
			t.Fatalf("premise: no RecipientInfo of %d bytes", want)
		}
		out = append(out, marshal(keyLen)...)
	}
	if len(out) != total {
		t.Fatalf("premise: %d bytes of recipients, want %d", len(out), total)
	}
	return out
}

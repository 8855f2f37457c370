package cms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/rcbs/rcbs/cms/cmstest"
)

// TestGCMStreamMatchesStdlib checks the streaming CTR+GHASH against the
// standard library's one-shot AES-GCM, for odd nonces, AAD and chunking.
func TestGCMStreamMatchesStdlib(t *testing.T) {
	for _, nonceLen := range []int{12, 8, 16, 60} {
		for _, size := range []int{0, 1, 15, 16, 17, 1000, 70_001} {
			for _, aadLen := range []int{0, 5, 33} {
				t.Run(fmt.Sprintf("nonce%d/size%d/aad%d", nonceLen, size, aadLen), func(t *testing.T) {
					checkGCM(t, nonceLen, size, aadLen)
				})
			}
		}
	}
}

func checkGCM(t *testing.T, nonceLen, size, aadLen int) {
	key, nonce := randomBytes(t, 32), randomBytes(t, int64(nonceLen))
	plain, aad := randomBytes(t, int64(size)), randomBytes(t, int64(aadLen))
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCMWithNonceSize(block, nonceLen)
	if err != nil {
		t.Fatal(err)
	}
	sealed := aead.Seal(nil, nonce, plain, aad)
	ct, tag := sealed[:size], sealed[size:]
	s := newGCMStream(block, nonce)
	got := bytes.Clone(ct)
	for rest := got; len(rest) > 0; { // uneven pieces
		k := min(len(rest), 1+len(rest)%29)
		if err := s.xor(rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	if !bytes.Equal(got, plain) {
		t.Fatal("plaintext differs from the standard library's")
	}
	if err := s.verify(aad, tag, 16); err != nil {
		t.Fatalf("tag: %v", err)
	}
	if err := s.verify(aad, tag[:12], 12); err != nil {
		t.Fatalf("truncated tag: %v", err)
	}
	bad := bytes.Clone(tag)
	bad[3] ^= 1
	if err := s.verify(aad, bad, 16); !errors.Is(err, ErrAuth) {
		t.Fatalf("bad tag: %v", err)
	}
}

func TestGFMul(t *testing.T) {
	h := loadElem(randomBytes(t, 16))
	one := gfElem{hi: 1 << 63}
	if gfMul(one, h) != h || gfMul(h, one) != h {
		t.Error("1·h != h")
	}
	if gfPow(h, 5) != gfMul(gfMul(gfMul(gfMul(h, h), h), h), h) {
		t.Error("h^5 differs from repeated multiplication")
	}
	x := loadElem(randomBytes(t, 16))
	if gfMul(x, h) != gfMul(h, x) {
		t.Error("multiplication does not commute")
	}
}

// TestGCMCounterWrap starts the counter just below 2^32: GCM wraps the low
// 32 bits only (inc32), unlike cipher.NewCTR.
func TestGCMCounterWrap(t *testing.T) {
	block, err := aes.NewCipher(randomBytes(t, 16))
	if err != nil {
		t.Fatal(err)
	}
	s := &gcmStream{block: block}
	copy(s.prefix[:], randomBytes(t, 12))
	s.startCTR(0xfffffffe)
	got := make([]byte, 5*16)
	if err := s.xor(got); err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 0, 5*16)
	for i, c := 0, uint32(0xfffffffe); i < 5; i, c = i+1, c+1 {
		var ctr [16]byte
		copy(ctr[:], s.prefix[:])
		binary.BigEndian.PutUint32(ctr[12:], c)
		block.Encrypt(ctr[:], ctr[:])
		want = append(want, ctr[:]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("keystream across the 32-bit wrap differs from inc32")
	}
}

// TestAuthAttrs builds AuthEnvelopedData with authAttrs (openssl's CLI
// writes none), which GCM authenticates as a DER SET: Decrypt re-encodes
// them from what it read, so each value must come out byte for byte, high
// tag numbers included. The tag is the standard library's AES-GCM over the
// SET's DER (openssl 3.0 cannot be the judge: it misreads authAttrs as [2]
// and refuses such files, openssl/openssl#26101).
func TestAuthAttrs(t *testing.T) {
	p := cmstest.NewPKI(t, t.TempDir(), "alice")
	dataOID, _ := asn1.Marshal(oidData)
	contentType := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	private := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1} // an attribute rcbs knows nothing of
	tests := []struct {
		name  string
		oid   asn1.ObjectIdentifier
		value []byte // the attribute's one value
	}{
		{"contentType", contentType, dataOID},
		{"[APPLICATION 31]", private, []byte{0x5f, 0x1f, 0x01, 'x'}},
		{"[PRIVATE 1025]", private, []byte{0xdf, 0x88, 0x01, 0x01, 'x'}},
		{"[PRIVATE 1000]", private, []byte{0xdf, 0x87, 0x68, 0x01, 'x'}},
		{"[CONTEXT 1025] constructed", private, []byte{0xbf, 0x88, 0x01, 0x03, 0x04, 0x01, 'x'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := randomBytes(t, 1000)
			attr := attribute(t, tt.oid, tt.value)
			data, attrsAt := authEnveloped(t, p.Cert, plain, attr)
			got, err := decryptBytes(t, data, p, p.Cert)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("got %d bytes, %v", len(got), err)
			}
			bad := bytes.Clone(data)
			bad[attrsAt+1+len(attr)] ^= 1 // the value's last byte
			if _, err := decryptBytes(t, bad, p, p.Cert); !errors.Is(err, ErrAuth) {
				t.Fatalf("tampered authAttrs: %v, want ErrAuth", err)
			}
		})
	}
}

// attribute is the DER of an Attribute of one value.
func attribute(t *testing.T, oid asn1.ObjectIdentifier, value []byte) []byte {
	t.Helper()
	o, err := asn1.Marshal(oid)
	if err != nil {
		t.Fatal(err)
	}
	return tlv(0x30, int64(len(o)+2+len(value)), cat(o, tlv(0x31, int64(len(value)), value)))
}

// authEnveloped returns the DER of an AuthEnvelopedData of plain for cert
// with the one authenticated attribute attr, and the offset of the authAttrs.
func authEnveloped(t *testing.T, cert *x509.Certificate, plain, attr []byte) ([]byte, int) {
	key, nonce := randomBytes(t, 16), randomBytes(t, 12)
	//lint:ignore SA1019 the cloud wraps keys with PKCS#1 v1.5: the test builds what it sends.
	ek, err := rsa.EncryptPKCS1v15(rand.Reader, cert.PublicKey.(*rsa.PublicKey), key)
	if err != nil {
		t.Fatal(err)
	}
	ri, err := marshalRI(cert, PKCS1v15, ek)
	if err != nil {
		t.Fatal(err)
	}
	dataOID, _ := asn1.Marshal(oidData)
	aad := tlv(0x31, int64(len(attr)), attr)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	sealed := aead.Seal(nil, nonce, plain, aad)
	params, _ := asn1.Marshal(gcmParams{Nonce: nonce, ICVLen: 16})
	alg, _ := asn1.Marshal(struct {
		OID    asn1.ObjectIdentifier
		Params asn1.RawValue
	}{oidAES128GCM, asn1.RawValue{FullBytes: params}})
	ct := sealed[:len(plain)]
	eci := cat(dataOID, alg, tlv(0x80, int64(len(ct)), ct))
	authAttrs := tlv(0xa1, int64(len(attr)), attr)
	mac, _ := asn1.Marshal(sealed[len(plain):])
	head := cat([]byte{2, 1, 0}, tlv(0x31, int64(len(ri)), ri), tlv(0x30, int64(len(eci)), eci))
	body := cat(head, authAttrs, mac)
	aed := tlv(0x30, int64(len(body)), body)
	oid, _ := asn1.Marshal(oidAuthEnvelopedData)
	ci := cat(oid, tlv(0xa0, int64(len(aed)), aed))
	out := tlv(0x30, int64(len(ci)), ci)
	return out, bytes.Index(out, authAttrs)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestGCMLengthLimit: NIST SP 800-38D §5.2.1.1 bounds GCM's plaintext at
// 2^39 − 256 bits; past it the 32-bit counter would reuse keystream. 64 GiB
// cannot go through a test, so the byte counter is set as if all but the
// last block had: the block that reaches the bound exactly is decrypted,
// one byte more is refused.
func TestGCMLengthLimit(t *testing.T) {
	const limit = (1<<39 - 256) / 8 // bytes
	block, err := aes.NewCipher(randomBytes(t, 16))
	if err != nil {
		t.Fatal(err)
	}
	s := newGCMStream(block, randomBytes(t, 12))
	s.n = limit - 16
	if err := s.xor(make([]byte, 16)); err != nil {
		t.Fatalf("the block that reaches the bound: %v", err)
	}
	if err := s.xor(make([]byte, 1)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("one byte past 2^39 − 256 bits: %v, want ErrMalformed", err)
	}
}

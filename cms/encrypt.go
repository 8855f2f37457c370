package cms

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
)

// encryptChunk is how much plaintext Encrypt handles at a time; a multiple
// of every block size.
const encryptChunk = 64 << 10

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type keyTransRI struct {
	Version      int
	RID          issuerAndSerial
	KeyEncAlg    pkix.AlgorithmIdentifier
	EncryptedKey []byte
}

// Encrypt reads size bytes of plaintext from r and writes them to w as CMS
// EnvelopedData in DER, encrypted with c to every recipient certificate
// (key transport c.KeyTransport(): RSA-OAEP with SHA-256 unless PKCS#1 v1.5
// was chosen; openssl cms -decrypt opens both). random supplies the content
// key and IV, then OAEP's seed (crypto/rand.Reader in production; a seeded
// reader makes the simulator's content encryption repeatable). Since Go
// 1.26 crypto/rsa ignores a custom reader for the PKCS#1 v1.5 padding, so
// those wrapped keys differ run to run whatever random is; the output size
// never does (see EncryptedSize).
//
// The DER lengths follow from size, so the headers are written first and the
// content is encrypted in 64 KiB chunks: memory stays flat whatever size is.
// If r gives more or fewer than size bytes, Encrypt returns an error
// wrapping ErrSize after having written part of the output: write to a
// temporary file and keep it only if Encrypt returns nil.
func Encrypt(w io.Writer, r io.Reader, size int64, recipients []*x509.Certificate, c Cipher, random io.Reader) error {
	info, block, iv, header, err := prepareEncrypt(size, recipients, c, random)
	if err != nil {
		return err
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("cms encrypt: write header: %w", err)
	}
	return encryptContent(w, r, size, cipher.NewCBCEncrypter(block, iv), info.blockSize)
}

// EncryptedSize is the exact length of Encrypt's output for these inputs.
func EncryptedSize(size int64, recipients []*x509.Certificate, c Cipher) (int64, error) {
	info, ok := c.info()
	if !ok {
		return 0, fmt.Errorf("cms encrypt: %w: cipher %d", ErrUnsupported, int(c))
	}
	ris := make([][]byte, 0, len(recipients))
	for _, cert := range recipients {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return 0, fmt.Errorf("cms encrypt: recipient %s: not an RSA key", cert.Subject)
		}
		ri, err := marshalRI(cert, c.KeyTransport(), make([]byte, pub.Size()))
		if err != nil {
			return 0, err
		}
		ris = append(ris, ri)
	}
	header, err := envelopeHeader(ris, info, make([]byte, info.blockSize), size)
	if err != nil {
		return 0, err
	}
	return int64(len(header)) + paddedLen(size, info.blockSize), nil
}

// prepareEncrypt draws the key and IV, wraps the key for every recipient
// and builds the DER header up to the first content byte.
func prepareEncrypt(size int64, recipients []*x509.Certificate, c Cipher, random io.Reader) (cipherInfo, cipher.Block, []byte, []byte, error) {
	info, ok := c.info()
	if !ok {
		return info, nil, nil, nil, fmt.Errorf("cms encrypt: %w: cipher %d", ErrUnsupported, int(c))
	}
	if size < 0 {
		return info, nil, nil, nil, fmt.Errorf("cms encrypt: negative size %d", size)
	}
	if len(recipients) == 0 {
		return info, nil, nil, nil, errors.New("cms encrypt: no recipients")
	}
	key := make([]byte, info.keyLen+info.blockSize)
	if _, err := io.ReadFull(random, key); err != nil {
		return info, nil, nil, nil, fmt.Errorf("cms encrypt: read random: %w", err)
	}
	key, iv := key[:info.keyLen], key[info.keyLen:]
	block, err := newBlock(c, key)
	if err != nil {
		return info, nil, nil, nil, err
	}
	ris, err := wrapKeys(recipients, c.KeyTransport(), key, random)
	if err != nil {
		return info, nil, nil, nil, err
	}
	header, err := envelopeHeader(ris, info, iv, size)
	return info, block, iv, header, err
}

// newBlock makes the block cipher; DES keys get odd parity as openssl's do.
func newBlock(c Cipher, key []byte) (cipher.Block, error) {
	if c.content() == DES3CBC {
		for i, b := range key {
			key[i] = b&0xfe | (^byte(parity(b>>1)) & 1)
		}
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// parity is 1 when b has an odd number of set bits.
func parity(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n & 1
}

func wrapKeys(recipients []*x509.Certificate, kt KeyTransport, key []byte, random io.Reader) ([][]byte, error) {
	ris := make([][]byte, 0, len(recipients))
	for _, cert := range recipients {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("cms encrypt: recipient %s: not an RSA key", cert.Subject)
		}
		ek, err := wrapKey(kt, pub, key, random)
		if err != nil {
			return nil, fmt.Errorf("cms encrypt: wrap key for %s: %w", cert.Subject, err)
		}
		ri, err := marshalRI(cert, kt, ek)
		if err != nil {
			return nil, err
		}
		ris = append(ris, ri)
	}
	return ris, nil
}

func wrapKey(kt KeyTransport, pub *rsa.PublicKey, key []byte, random io.Reader) ([]byte, error) {
	switch kt {
	case OAEPSHA256:
		return rsa.EncryptOAEP(sha256.New(), random, pub, key, nil)
	case PKCS1v15:
		//lint:ignore SA1019 chosen by encryptionKeyTransport=pkcs1 for readers without OAEP; OAEP is the default
		return rsa.EncryptPKCS1v15(random, pub, key)
	}
	return nil, fmt.Errorf("%w: key transport %v", ErrUnsupported, kt)
}

// keyEncAlg is the keyEncryptionAlgorithm for kt, encoded as openssl does
// (RFC 4055: the SHA-256 AlgorithmIdentifiers without parameters).
func keyEncAlg(kt KeyTransport) (pkix.AlgorithmIdentifier, error) {
	switch kt {
	case PKCS1v15:
		return pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}, nil
	case OAEPSHA256:
		sha := pkix.AlgorithmIdentifier{Algorithm: oidSHA256}
		shaDER, err := asn1.Marshal(sha)
		if err != nil {
			return pkix.AlgorithmIdentifier{}, err
		}
		params, err := asn1.Marshal(oaepParams{Hash: sha, MGF: pkix.AlgorithmIdentifier{Algorithm: oidMGF1, Parameters: asn1.RawValue{FullBytes: shaDER}}})
		if err != nil {
			return pkix.AlgorithmIdentifier{}, err
		}
		return pkix.AlgorithmIdentifier{Algorithm: oidRSAOAEP, Parameters: asn1.RawValue{FullBytes: params}}, nil
	}
	return pkix.AlgorithmIdentifier{}, fmt.Errorf("%w: key transport %v", ErrUnsupported, kt)
}

func marshalRI(cert *x509.Certificate, kt KeyTransport, encryptedKey []byte) ([]byte, error) {
	alg, err := keyEncAlg(kt)
	if err != nil {
		return nil, fmt.Errorf("cms encrypt: %w", err)
	}
	ri := keyTransRI{
		RID:          issuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber},
		KeyEncAlg:    alg,
		EncryptedKey: encryptedKey,
	}
	b, err := asn1.Marshal(ri)
	if err != nil {
		return nil, fmt.Errorf("cms encrypt: recipient %s: %w", cert.Subject, err)
	}
	return b, nil
}

// envelopeHeader is the DER of ContentInfo{envelopedData} up to and
// including the encryptedContent [0] IMPLICIT OCTET STRING header.
func envelopeHeader(ris [][]byte, info cipherInfo, iv []byte, size int64) ([]byte, error) {
	ivDER, err := asn1.Marshal(iv)
	if err != nil {
		return nil, fmt.Errorf("cms encrypt: %w", err)
	}
	alg, err := asn1.Marshal(pkix.AlgorithmIdentifier{Algorithm: info.oid, Parameters: asn1.RawValue{FullBytes: ivDER}})
	if err != nil {
		return nil, fmt.Errorf("cms encrypt: %w", err)
	}
	dataOID, _ := asn1.Marshal(oidData)
	envOID, _ := asn1.Marshal(oidEnvelopedData)
	// DER orders a SET OF by its elements' encodings.
	slices.SortFunc(ris, bytes.Compare)
	riSet := tlv(0x31, int64(len(bytes.Join(ris, nil))), bytes.Join(ris, nil))
	n := paddedLen(size, info.blockSize)
	contentHdr := derHeader(0x80, n)
	eciLen := int64(len(dataOID)+len(alg)+len(contentHdr)) + n
	edLen := int64(3+len(riSet)) + int64(len(derHeader(0x30, eciLen))) + eciLen
	edTotal := int64(len(derHeader(0x30, edLen))) + edLen
	ciLen := int64(len(envOID)) + int64(len(derHeader(0xa0, edTotal))) + edTotal

	var h []byte
	h = append(h, derHeader(0x30, ciLen)...)
	h = append(h, envOID...)
	h = append(h, derHeader(0xa0, edTotal)...)
	h = append(h, derHeader(0x30, edLen)...)
	h = append(h, 0x02, 0x01, 0x00) // version 0
	h = append(h, riSet...)
	h = append(h, derHeader(0x30, eciLen)...)
	h = append(h, dataOID...)
	h = append(h, alg...)
	h = append(h, contentHdr...)
	return h, nil
}

// paddedLen is the PKCS#7-padded length: always at least one pad byte.
func paddedLen(size int64, bs int) int64 { return (size/int64(bs) + 1) * int64(bs) }

func tlv(tag byte, n int64, content []byte) []byte {
	return append(derHeader(tag, n), content...)
}

// derHeader encodes a tag byte and a DER (minimal, definite) length.
func derHeader(tag byte, n int64) []byte {
	if n < 0x80 {
		return []byte{tag, byte(n)}
	}
	var l []byte
	for v := n; v > 0; v >>= 8 {
		l = append([]byte{byte(v)}, l...)
	}
	return append([]byte{tag, 0x80 | byte(len(l))}, l...)
}

// encryptContent CBC-encrypts exactly size bytes of r plus PKCS#7 padding.
func encryptContent(w io.Writer, r io.Reader, size int64, enc cipher.BlockMode, bs int) error {
	buf := make([]byte, encryptChunk+bs)
	for left := size; ; {
		n := int(min(left, encryptChunk))
		got, err := io.ReadFull(r, buf[:n])
		if err != nil && !(n == 0 && err == io.EOF) {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("cms encrypt: %w: got %d of %d bytes", ErrSize, size-left+int64(got), size)
			}
			return fmt.Errorf("cms encrypt: read plaintext: %w", err)
		}
		left -= int64(n)
		chunk := buf[:n]
		if left == 0 {
			chunk = pad(chunk, bs)
		}
		enc.CryptBlocks(chunk, chunk)
		if _, err := w.Write(chunk); err != nil {
			return fmt.Errorf("cms encrypt: write: %w", err)
		}
		if left == 0 {
			return checkDrained(r, size)
		}
	}
}

// pad appends PKCS#7 padding in place (buf has bs bytes of spare capacity).
func pad(b []byte, bs int) []byte {
	p := bs - len(b)%bs
	for range p {
		b = append(b, byte(p))
	}
	return b
}

// checkDrained makes sure r has nothing beyond size bytes.
func checkDrained(r io.Reader, size int64) error {
	var one [1]byte
	for range 100 { // a reader that keeps returning 0, nil is broken
		n, err := r.Read(one[:])
		if n > 0 {
			return fmt.Errorf("cms encrypt: %w: more than %d bytes", ErrSize, size)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cms encrypt: read plaintext: %w", err)
		}
	}
	return fmt.Errorf("cms encrypt: read plaintext: %w", io.ErrNoProgress)
}

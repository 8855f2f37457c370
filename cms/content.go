package cms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// decryptChunk is how much ciphertext is handled at a time.
const decryptChunk = 64 << 10

// maxGCMBlocks is GCM's plaintext limit (2^32 − 2 blocks).
const maxGCMBlocks = 1<<32 - 2

// contentAlg is a parsed contentEncryptionAlgorithm.
type contentAlg struct {
	keyLen int
	gcm    bool
	des    bool
	iv     []byte // CBC IV or GCM nonce
	icvLen int    // GCM tag length
}

type gcmParams struct {
	Nonce  []byte
	ICVLen int `asn1:"optional,default:12"`
}

func parseContentAlg(n node) (contentAlg, error) {
	var alg pkix.AlgorithmIdentifier
	if rest, err := asn1.Unmarshal(n.der(), &alg); err != nil || len(rest) > 0 {
		return contentAlg{}, fmt.Errorf("%w: contentEncryptionAlgorithm: %v", ErrMalformed, err)
	}
	return contentAlgOf(alg)
}

func contentAlgOf(alg pkix.AlgorithmIdentifier) (contentAlg, error) {
	for _, c := range cipherInfos {
		if alg.Algorithm.Equal(c.oid) {
			return parseCBCParams(alg, c)
		}
	}
	for i, oid := range []asn1.ObjectIdentifier{oidAES128GCM, oidAES192GCM, oidAES256GCM} {
		if alg.Algorithm.Equal(oid) {
			return parseGCMParams(alg, 16+8*i)
		}
	}
	return contentAlg{}, fmt.Errorf("%w: content cipher %v", ErrUnsupported, alg.Algorithm)
}

func parseCBCParams(alg pkix.AlgorithmIdentifier, c cipherInfo) (contentAlg, error) {
	var iv []byte
	if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &iv); err != nil || len(rest) > 0 || len(iv) != c.blockSize {
		return contentAlg{}, fmt.Errorf("%w: %s IV: want %d bytes", ErrMalformed, c.name, c.blockSize)
	}
	return contentAlg{keyLen: c.keyLen, des: c.blockSize == des.BlockSize, iv: iv}, nil
}

func parseGCMParams(alg pkix.AlgorithmIdentifier, keyLen int) (contentAlg, error) {
	var p gcmParams
	if rest, err := asn1.Unmarshal(alg.Parameters.FullBytes, &p); err != nil || len(rest) > 0 {
		return contentAlg{}, fmt.Errorf("%w: GCM parameters: %v", ErrMalformed, err)
	}
	if len(p.Nonce) == 0 || len(p.Nonce) > 64 || p.ICVLen < 12 || p.ICVLen > 16 {
		return contentAlg{}, fmt.Errorf("%w: GCM nonce of %d bytes, tag of %d", ErrUnsupported, len(p.Nonce), p.ICVLen)
	}
	return contentAlg{keyLen: keyLen, gcm: true, iv: p.Nonce, icvLen: p.ICVLen}, nil
}

func (a contentAlg) block(key []byte) (cipher.Block, error) {
	if a.des {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// decryptCBC streams src through CBC to w, holding back the last block
// until the end so that the padding is checked before it is written.
func decryptCBC(w io.Writer, src io.Reader, block cipher.Block, iv []byte) error {
	bs := block.BlockSize()
	mode := cipher.NewCBCDecrypter(block, iv)
	buf := make([]byte, decryptChunk+bs)
	have, total := 0, int64(0)
	for {
		n, err := src.Read(buf[have:])
		have += n
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if have > bs {
			k := (have - 1) / bs * bs
			if err := cryptWrite(w, mode, buf[:k]); err != nil {
				return err
			}
			have = copy(buf, buf[k:have])
		}
	}
	if total == 0 || total%int64(bs) != 0 {
		return fmt.Errorf("%w: encrypted content of %d bytes is not a positive multiple of the %d-byte block", ErrMalformed, total, bs)
	}
	if err := cryptWrite(w, mode, buf[:have-bs]); err != nil {
		return err
	}
	last := buf[have-bs : have]
	mode.CryptBlocks(last, last)
	n, ok := unpad(last)
	if !ok {
		return ErrBadPadding
	}
	return write(w, last[:n])
}

func cryptWrite(w io.Writer, mode cipher.BlockMode, b []byte) error {
	mode.CryptBlocks(b, b)
	return write(w, b)
}

func write(w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write plaintext: %w", err)
	}
	return nil
}

// unpad checks PKCS#7 padding in constant time: the pad byte p must be
// 1..len(b) and the last p bytes must all equal p. It returns the length
// of the data before the padding.
func unpad(b []byte) (int, bool) {
	bs := len(b)
	p := int(b[bs-1])
	good := subtle.ConstantTimeLessOrEq(1, p) & subtle.ConstantTimeLessOrEq(p, bs)
	for i := range bs {
		inPad := subtle.ConstantTimeLessOrEq(bs-i, p)
		eq := subtle.ConstantTimeByteEq(b[i], byte(p))
		good &= eq | (inPad ^ 1)
	}
	return bs - p*good, good == 1
}

// gcmStream decrypts AES-GCM as a stream: CTR for the plaintext, GHASH
// over the ciphertext; the tag is checked by verify once the mac is read.
type gcmStream struct {
	block  cipher.Block
	g      ghash
	ctr    cipher.Stream
	prefix [12]byte // the counter's fixed high 96 bits
	j0     [16]byte
	toWrap uint64 // bytes until the counter's low 32 bits wrap
	n      uint64 // ciphertext bytes
}

func newGCMStream(block cipher.Block, nonce []byte) *gcmStream {
	s := &gcmStream{block: block}
	var h [16]byte
	block.Encrypt(h[:], h[:])
	s.g.h = loadElem(h[:])
	if len(nonce) == 12 {
		copy(s.j0[:], nonce)
		s.j0[15] = 1
	} else {
		j := ghash{h: s.g.h}
		j.write(nonce)
		j.flush()
		var l [16]byte
		binary.BigEndian.PutUint64(l[8:], uint64(len(nonce))*8)
		j.write(l[:])
		j.y.put(s.j0[:])
	}
	copy(s.prefix[:], s.j0[:12])
	s.startCTR(binary.BigEndian.Uint32(s.j0[12:]) + 1)
	return s
}

// startCTR restarts the keystream at counter c. GCM increments only the low
// 32 bits (inc32) where cipher.NewCTR carries into all 128, so the stream is
// restarted where the low word wraps.
func (s *gcmStream) startCTR(c uint32) {
	var iv [16]byte
	copy(iv[:], s.prefix[:])
	binary.BigEndian.PutUint32(iv[12:], c)
	s.ctr = cipher.NewCTR(s.block, iv[:])
	s.toWrap = (1<<32 - uint64(c)) * 16
}

// xor absorbs ciphertext b into GHASH and decrypts it in place.
func (s *gcmStream) xor(b []byte) error {
	s.n += uint64(len(b))
	if s.n > maxGCMBlocks*16 {
		return fmt.Errorf("%w: GCM content longer than 64 GiB", ErrMalformed)
	}
	s.g.write(b)
	for len(b) > 0 {
		k := min(uint64(len(b)), s.toWrap)
		s.ctr.XORKeyStream(b[:k], b[:k])
		s.toWrap -= k
		b = b[k:]
		if s.toWrap == 0 {
			s.startCTR(0)
		}
	}
	return nil
}

// verify computes the tag over aad (the DER of authAttrs, or empty) and the
// ciphertext and compares it with mac in constant time. GHASH wants the AAD
// first but it arrives after the content, so the ciphertext's hash is
// shifted: GHASH(A‖C) = GHASH(A)·H^m ⊕ GHASH(C) for m ciphertext blocks.
func (s *gcmStream) verify(aad, mac []byte, icvLen int) error {
	if len(mac) != icvLen {
		return fmt.Errorf("%w: mac of %d bytes, want %d", ErrMalformed, len(mac), icvLen)
	}
	s.g.flush()
	y := s.g.y
	if len(aad) > 0 {
		a := ghash{h: s.g.h}
		a.write(aad)
		a.flush()
		y = gfMul(a.y, gfPow(s.g.h, s.g.blocks)).xor(y)
	}
	var l [16]byte
	binary.BigEndian.PutUint64(l[:], uint64(len(aad))*8)
	binary.BigEndian.PutUint64(l[8:], s.n*8)
	y = gfMul(y.xor(loadElem(l[:])), s.g.h)
	var tag [16]byte
	s.block.Encrypt(tag[:], s.j0[:])
	y.xor(loadElem(tag[:])).put(tag[:])
	if subtle.ConstantTimeCompare(tag[:icvLen], mac) != 1 {
		return ErrAuth
	}
	return nil
}

// decryptGCM streams src through s to w; the caller verifies the tag.
func decryptGCM(w io.Writer, src io.Reader, s *gcmStream) error {
	buf := make([]byte, decryptChunk)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if err := s.xor(buf[:n]); err != nil {
				return err
			}
			if err := write(w, buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

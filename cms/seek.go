package cms

import (
	"crypto/cipher"
	"crypto/rsa"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrNotSeekable is content that cannot be read from an offset: BER
// (openssl -stream) splits the ciphertext into OCTET STRING chunks, and
// finding an offset would mean reading every chunk header before it. The
// caller decrypts such a file from the start (Decrypt) instead.
var ErrNotSeekable = errors.New("encrypted content in BER chunks: not seekable")

// Seekable reads the plaintext of a CMS file at any offset without
// decrypting what comes before (rcbs serve's HTTP Range):
//
//   - CBC: plaintext block k is D(C[k]) ⊕ C[k−1] (the IV for k = 0), so a
//     read decrypts from the block before its offset. The plaintext length
//     comes from the padding of the last block, checked by OpenSeekable.
//     CBC has no integrity: like openssl, a changed block yields garbage.
//   - AES-GCM (AuthEnvelopedData): OpenSeekable first reads the whole file
//     once and checks the tag; only a file whose tag is right opens. Reads
//     then use CTR from the offset's counter. So a tampered file is never
//     served, at the cost of one full read per open.
//
// Memory is a few blocks plus the caller's buffer, whatever the file size.
// ReadAt is safe for concurrent use.
type Seekable struct {
	r     io.ReaderAt
	start int64 // offset of the ciphertext in r
	clen  int64 // ciphertext length
	size  int64 // plaintext length
	block cipher.Block
	iv    []byte // CBC IV
	gcm   bool
	ctr   [16]byte // GCM: prefix and the counter of content block 0
}

// OpenSeekable parses the CMS file in r (size bytes) up to its content,
// unwraps the content key with key (cert: as for Decrypt) and checks the
// padding (CBC) or the whole file's tag (GCM). Errors wrap the same values
// as Decrypt's, or ErrNotSeekable.
func OpenSeekable(r io.ReaderAt, size int64, key *rsa.PrivateKey, cert *x509.Certificate) (*Seekable, error) {
	if key == nil {
		return nil, errors.New("cms open: no private key")
	}
	d := &decoder{b: newBERReader(io.NewSectionReader(r, 0, size)), key: key, cert: cert}
	s, err := d.openSeekable(r, size)
	if err != nil {
		return nil, fmt.Errorf("cms open: %w", err)
	}
	return s, nil
}

func (d *decoder) openSeekable(r io.ReaderAt, size int64) (*Seekable, error) {
	if err := d.readContentInfoStart(); err != nil {
		return nil, err
	}
	if err := d.readRecipients(); err != nil {
		return nil, err
	}
	h, err := d.readContentHeader()
	if err != nil {
		return nil, err
	}
	if h.constructed {
		return nil, ErrNotSeekable
	}
	s := &Seekable{r: r, start: d.b.pos, clen: h.length, gcm: d.alg.gcm}
	if s.start+s.clen > size {
		return nil, fmt.Errorf("%w at the end of the input", ErrTruncated)
	}
	k, err := contentKey(d.ris, d.key, d.cert, d.alg.keyLen)
	if err != nil {
		return nil, err
	}
	if s.block, err = d.alg.block(k); err != nil {
		return nil, fmt.Errorf("%w: content key: %v", ErrMalformed, err)
	}
	if s.gcm {
		return s, d.checkGCM(s, h.length)
	}
	s.iv = d.alg.iv
	return s, s.cbcSize()
}

// readContentHeader reads the EncryptedContentInfo up to the header of
// its encryptedContent [0] (as readContent and openContent do).
func (d *decoder) readContentHeader() (header, error) {
	if err := d.enterExpect(classUniversal, tagSequence, "encryptedContentInfo"); err != nil {
		return header{}, err
	}
	if n, err := d.b.readElement("contentType"); err != nil {
		return header{}, err
	} else if !n.is(classUniversal, tagOID) {
		return header{}, fmt.Errorf("%w: encrypted contentType is %v", ErrMalformed, n.header)
	}
	n, err := d.b.readElement("contentEncryptionAlgorithm")
	if err != nil {
		return header{}, err
	}
	if d.alg, err = parseContentAlg(n); err != nil {
		return header{}, err
	}
	if d.alg.gcm != d.auth {
		return header{}, fmt.Errorf("%w: content cipher does not suit the content type", ErrMalformed)
	}
	if more, err := d.b.more(); err != nil || !more {
		return header{}, fmt.Errorf("%w: detached content (no encryptedContent)", ErrUnsupported)
	}
	h, err := d.b.readHeader()
	if err != nil {
		return header{}, fmt.Errorf("read encryptedContent: %w", err)
	}
	if !h.is(classContext, 0) {
		return header{}, fmt.Errorf("%w: encryptedContent is %v", ErrMalformed, h)
	}
	return h, nil
}

// cbcSize finds the plaintext length from the last block's padding.
func (s *Seekable) cbcSize() error {
	bs := int64(s.block.BlockSize())
	if s.clen == 0 || s.clen%bs != 0 {
		return fmt.Errorf("%w: encrypted content of %d bytes is not a positive multiple of the %d-byte block", ErrMalformed, s.clen, bs)
	}
	last := make([]byte, 2*bs)
	from := s.clen - 2*bs
	if from < 0 {
		copy(last, s.iv)
		from = 0
		if _, err := s.r.ReadAt(last[bs:], s.start); err != nil {
			return truncated(err)
		}
	} else if _, err := s.r.ReadAt(last, s.start+from); err != nil {
		return truncated(err)
	}
	cipher.NewCBCDecrypter(s.block, last[:bs]).CryptBlocks(last[bs:], last[bs:])
	n, ok := unpad(last[bs:])
	if !ok {
		return ErrBadPadding
	}
	s.size = s.clen - bs + int64(n)
	return nil
}

// checkGCM reads the content through GHASH and checks the tag and the
// rest of the structure, as Decrypt does, writing nothing.
func (d *decoder) checkGCM(s *Seekable, clen int64) error {
	d.gcm = newGCMStream(s.block, d.alg.iv)
	if err := decryptGCM(io.Discard, &contentReader{b: d.b, left: clen}, d.gcm); err != nil {
		return err
	}
	if err := d.b.leave(); err != nil {
		return err
	}
	if err := d.readTrailer(); err != nil {
		return err
	}
	copy(s.ctr[:12], d.gcm.prefix[:])
	binary.BigEndian.PutUint32(s.ctr[12:], binary.BigEndian.Uint32(d.gcm.j0[12:])+1)
	s.size = clen
	return nil
}

// Size is the plaintext length.
func (s *Seekable) Size() int64 { return s.size }

// seekChunk bounds the ciphertext read at once.
const seekChunk = 64 << 10

// ReadAt reads plaintext at off.
func (s *Seekable) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("cms: negative offset")
	}
	done := 0
	for done < len(p) && off < s.size {
		n := int(min(int64(len(p)-done), s.size-off, seekChunk))
		var err error
		if s.gcm {
			err = s.readGCM(p[done:done+n], off)
		} else {
			err = s.readCBC(p[done:done+n], off)
		}
		if err != nil {
			return done, err
		}
		done += n
		off += int64(n)
	}
	if done < len(p) {
		return done, io.EOF
	}
	return done, nil
}

// readCBC fills p (inside the plaintext) from off: it reads the ciphertext
// from the block before off's block and decrypts only those blocks.
func (s *Seekable) readCBC(p []byte, off int64) error {
	bs := int64(s.block.BlockSize())
	first, last := off/bs, (off+int64(len(p))-1)/bs
	buf := make([]byte, (last-first+2)*bs)
	from := (first - 1) * bs
	if first == 0 {
		copy(buf, s.iv)
		if _, err := s.r.ReadAt(buf[bs:], s.start); err != nil {
			return truncated(err)
		}
	} else if _, err := s.r.ReadAt(buf, s.start+from); err != nil {
		return truncated(err)
	}
	cipher.NewCBCDecrypter(s.block, buf[:bs]).CryptBlocks(buf[bs:], buf[bs:])
	copy(p, buf[bs+off%bs:])
	return nil
}

// readGCM fills p from off with CTR from off's counter. GCM increments
// only the counter's low 32 bits, so the stream restarts where they wrap.
func (s *Seekable) readGCM(p []byte, off int64) error {
	if _, err := s.r.ReadAt(p, s.start+off); err != nil {
		return truncated(err)
	}
	var iv [16]byte
	copy(iv[:], s.ctr[:])
	c := binary.BigEndian.Uint32(s.ctr[12:]) + uint32(off/16)
	skip := int(off % 16)
	for len(p) > 0 {
		binary.BigEndian.PutUint32(iv[12:], c)
		stream := cipher.NewCTR(s.block, iv[:])
		var pad [16]byte
		stream.XORKeyStream(pad[:skip], pad[:skip])
		run := int(min(int64(len(p)), (1<<32-int64(c))*16-int64(skip)))
		stream.XORKeyStream(p[:run], p[:run])
		p = p[run:]
		c, skip = 0, 0
	}
	return nil
}

// Reopen is s reading from r: the same file opened again. It skips the
// key unwrap (an RSA operation) and, for GCM, the whole-file tag check, so
// a caller may keep opened files by identity (rcbs serve does, per path,
// size and modification time) and answer a player's many Range requests
// cheaply.
func (s *Seekable) Reopen(r io.ReaderAt) *Seekable {
	c := *s
	c.r = r
	return &c
}

package cms

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
)

// Decrypt streams the EnvelopedData (DER or BER) or AuthEnvelopedData in r to
// w with key. When cert is not nil the RecipientInfo is matched by its issuer
// and serial (or subject key identifier) and a file not encrypted to it fails
// at once with ErrNoRecipient; see contentKey for the choice without cert.
//
// Bytes reach w before the padding or tag is checked: write to a temporary
// file and keep it only if Decrypt returns nil. Memory stays flat (a few
// 64 KiB buffers) whatever the size, for CBC and GCM alike. Bytes after the
// end of the CMS structure are ignored, as openssl does. Errors wrap
// ErrNotCMS, ErrMalformed, ErrTruncated, ErrUnsupported, ErrNoRecipient,
// ErrBadPadding or ErrAuth, or the writer's error.
func Decrypt(w io.Writer, r io.Reader, key *rsa.PrivateKey, cert *x509.Certificate) error {
	if key == nil {
		return errors.New("cms decrypt: no private key")
	}
	if cert != nil && !key.PublicKey.Equal(cert.PublicKey) {
		return fmt.Errorf("cms decrypt: certificate %s does not belong to the private key", cert.Subject)
	}
	d := &decoder{b: newBERReader(r), key: key, cert: cert}
	if err := d.run(w); err != nil {
		return fmt.Errorf("cms decrypt: %w", err)
	}
	return nil
}

// decoder holds one Decrypt call's state.
type decoder struct {
	b    *berReader
	key  *rsa.PrivateKey
	cert *x509.Certificate
	auth bool // AuthEnvelopedData
	ris  []recipientInfo
	gcm  *gcmStream
	alg  contentAlg
}

func (d *decoder) run(w io.Writer) error {
	if err := d.readContentInfoStart(); err != nil {
		return err
	}
	if err := d.readRecipients(); err != nil {
		return err
	}
	if err := d.readContent(w); err != nil {
		return err
	}
	return d.readTrailer()
}

// readContentInfoStart reads ContentInfo up to the (Auth)EnvelopedData version.
func (d *decoder) readContentInfoStart() error {
	h, err := d.b.readHeader()
	if err != nil || !h.is(classUniversal, tagSequence) || !h.constructed {
		return fmt.Errorf("%w: does not start with a SEQUENCE", ErrNotCMS)
	}
	if err := d.b.enter(h); err != nil {
		return err
	}
	n, err := d.b.readElement("contentType")
	if err != nil {
		return notCMS(err)
	}
	var oid asn1.ObjectIdentifier
	if !n.is(classUniversal, tagOID) || unmarshal(n, &oid) != nil {
		return fmt.Errorf("%w: no contentType", ErrNotCMS)
	}
	switch {
	case oid.Equal(oidAuthEnvelopedData):
		d.auth = true
	case !oid.Equal(oidEnvelopedData):
		return fmt.Errorf("%w: content type %v", ErrNotCMS, oid)
	}
	if err := d.enterExpect(classContext, 0, "content [0]"); err != nil {
		return err
	}
	if err := d.enterExpect(classUniversal, tagSequence, "EnvelopedData"); err != nil {
		return err
	}
	n, err = d.b.readElement("version")
	if err == nil && !n.is(classUniversal, tagInteger) {
		err = fmt.Errorf("%w: version is %v", ErrMalformed, n.header)
	}
	return err
}

// notCMS keeps truncation visible but calls other early failures ErrNotCMS.
func notCMS(err error) error {
	if errors.Is(err, ErrTruncated) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrNotCMS, err)
}

func unmarshal(n node, v any) error {
	rest, err := asn1.Unmarshal(n.der(), v)
	if err == nil && len(rest) > 0 {
		err = errors.New("trailing data")
	}
	return err
}

func (d *decoder) enterExpect(class, tag int, what string) error {
	h, err := d.b.expect(class, tag, true, what)
	if err != nil {
		return err
	}
	return d.b.enter(h)
}

// maxRecipientBytes bounds the key-transport RecipientInfos kept to be
// tried when no certificate picks one: about 14,000 recipients, each an RSA
// decryption (openssl too tries them all); 2048-bit keys take ~1 ms each.
const maxRecipientBytes = 4 << 20

// readRecipients skips the optional originatorInfo (certificates and CRLs,
// unused, of any size) and reads the RecipientInfos one at a time: with a
// certificate only the ones naming it are kept, so a file to thousands of
// recipients costs no more memory than one to a single recipient.
func (d *decoder) readRecipients() error {
	h, err := d.b.readHeader()
	if err != nil {
		return fmt.Errorf("read recipientInfos: %w", err)
	}
	if h.is(classContext, 0) && h.constructed {
		if err := d.b.skipBody(h); err != nil {
			return fmt.Errorf("skip originatorInfo: %w", err)
		}
		if h, err = d.b.readHeader(); err != nil {
			return fmt.Errorf("read recipientInfos: %w", err)
		}
	}
	if !h.is(classUniversal, tagSet) || !h.constructed {
		return fmt.Errorf("%w: recipientInfos is %v, not a SET", ErrMalformed, h)
	}
	if err := d.b.enter(h); err != nil {
		return err
	}
	kept := 0
	for {
		more, err := d.b.more()
		if err != nil {
			return fmt.Errorf("read recipientInfos: %w", err)
		}
		if !more {
			return d.b.leave()
		}
		ri, size, err := d.readRecipient()
		switch {
		case err != nil:
			return err
		case size == 0, d.cert != nil && !ri.matches(d.cert):
			continue
		}
		if kept += size; kept > maxRecipientBytes {
			return fmt.Errorf("%w: recipientInfos: more than %d bytes of key-transport recipients to try; "+
				"give the recipient certificate (-cert) to pick one", ErrUnsupported, maxRecipientBytes)
		}
		d.ris = append(d.ris, ri)
	}
}

// readRecipient reads the next RecipientInfo; size is 0 for a kind this
// package does not unwrap (key agreement, KEK, password, other), skipped
// unread.
func (d *decoder) readRecipient() (recipientInfo, int, error) {
	h, err := d.b.readHeader()
	if err != nil {
		return recipientInfo{}, 0, fmt.Errorf("read recipientInfo: %w", err)
	}
	if h.isEOC() {
		return recipientInfo{}, 0, fmt.Errorf("%w: unexpected end-of-contents in recipientInfos", ErrMalformed)
	}
	if !h.is(classUniversal, tagSequence) {
		if err := d.b.skipBody(h); err != nil {
			return recipientInfo{}, 0, fmt.Errorf("skip recipientInfo: %w", err)
		}
		return recipientInfo{}, 0, nil
	}
	n, err := d.b.readBody(h, "recipientInfo")
	if err != nil {
		return recipientInfo{}, 0, err
	}
	der := n.der()
	ri, err := parseRecipient(der)
	return ri, len(der), err
}

// readContent reads the (Auth)EncryptedContentInfo and decrypts its content.
func (d *decoder) readContent(w io.Writer) error {
	if err := d.enterExpect(classUniversal, tagSequence, "encryptedContentInfo"); err != nil {
		return err
	}
	if n, err := d.b.readElement("contentType"); err != nil {
		return err
	} else if !n.is(classUniversal, tagOID) {
		return fmt.Errorf("%w: encrypted contentType is %v", ErrMalformed, n.header)
	}
	n, err := d.b.readElement("contentEncryptionAlgorithm")
	if err != nil {
		return err
	}
	if d.alg, err = parseContentAlg(n); err != nil {
		return err
	}
	if d.alg.gcm != d.auth {
		return fmt.Errorf("%w: content cipher does not suit the content type", ErrMalformed)
	}
	src, err := d.openContent()
	if err != nil {
		return err
	}
	if err := d.decryptContent(w, src); err != nil {
		return err
	}
	return d.b.leave()
}

// openContent reads the encryptedContent [0] header: primitive (DER) or
// constructed (BER, a series of OCTET STRINGs).
func (d *decoder) openContent() (io.Reader, error) {
	more, err := d.b.more()
	if err != nil {
		return nil, err
	}
	if !more {
		return nil, fmt.Errorf("%w: detached content (no encryptedContent)", ErrUnsupported)
	}
	h, err := d.b.readHeader()
	if err != nil {
		return nil, fmt.Errorf("read encryptedContent: %w", err)
	}
	if !h.is(classContext, 0) {
		return nil, fmt.Errorf("%w: encryptedContent is %v", ErrMalformed, h)
	}
	c := &contentReader{b: d.b}
	if !h.constructed {
		c.left = h.length
		return c, nil
	}
	c.depth = 1
	return c, d.b.enter(h)
}

func (d *decoder) decryptContent(w io.Writer, src io.Reader) error {
	key, err := contentKey(d.ris, d.key, d.cert, d.alg.keyLen)
	if err != nil {
		return err
	}
	block, err := d.alg.block(key)
	if err != nil {
		return fmt.Errorf("%w: content key: %v", ErrMalformed, err)
	}
	if !d.alg.gcm {
		return decryptCBC(w, src, block, d.alg.iv)
	}
	d.gcm = newGCMStream(block, d.alg.iv)
	return decryptGCM(w, src, d.gcm)
}

// readTrailer reads what follows the content: unprotectedAttrs, or for
// AuthEnvelopedData authAttrs, the mac (verified here) and unauthAttrs;
// then it closes the open frames.
func (d *decoder) readTrailer() error {
	if d.auth {
		if err := d.readMAC(); err != nil {
			return err
		}
	}
	if err := d.skipOptional(); err != nil {
		return err
	}
	for range 3 { // EnvelopedData, [0], ContentInfo
		if err := d.b.leave(); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) readMAC() error {
	h, err := d.b.readHeader()
	if err != nil {
		return fmt.Errorf("read mac: %w", err)
	}
	var aad []byte
	if h.is(classContext, 1) && h.constructed { // authAttrs: MACed as a DER SET, so read whole
		n, err := d.b.readBody(h, "authAttrs")
		if err != nil {
			return err
		}
		n.class, n.tag = classUniversal, tagSet
		aad = n.der()
		if h, err = d.b.readHeader(); err != nil {
			return fmt.Errorf("read mac: %w", err)
		}
	}
	if h.isEOC() {
		return fmt.Errorf("%w: no mac", ErrMalformed)
	}
	n, err := d.b.readBody(h, "mac")
	if err != nil {
		return err
	}
	if !n.is(classUniversal, tagOctetString) {
		return fmt.Errorf("%w: mac is %v", ErrMalformed, n.header)
	}
	return d.gcm.verify(aad, n.content, d.alg.icvLen)
}

// skipOptional skips the unprotected/unauthenticated attributes, if any:
// unused, so read past unbuffered whatever their size.
func (d *decoder) skipOptional() error {
	more, err := d.b.more()
	if err != nil || !more {
		return err
	}
	if err := d.b.skip(); err != nil {
		return fmt.Errorf("skip attributes: %w", err)
	}
	return nil
}

// contentReader yields the encryptedContent bytes across BER chunks and
// returns io.EOF after the last one.
type contentReader struct {
	b     *berReader
	left  int64 // bytes left in the current primitive piece
	depth int   // constructed frames opened by the content; 0 when primitive
	done  bool
}

func (c *contentReader) Read(p []byte) (int, error) {
	for c.left == 0 {
		if c.done {
			return 0, io.EOF
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := int(min(int64(len(p)), c.left))
	n, err := io.ReadFull(c.b.r, p[:n])
	c.b.pos += int64(n)
	c.left -= int64(n)
	if err != nil {
		return n, truncated(err)
	}
	return n, nil
}

// next moves to the next primitive piece, closing finished frames.
func (c *contentReader) next() error {
	for c.depth > 0 {
		more, err := c.b.more()
		if err != nil {
			return err
		}
		if more {
			return c.openPiece()
		}
		if err := c.b.leave(); err != nil {
			return err
		}
		c.depth--
	}
	c.done = true
	return nil
}

func (c *contentReader) openPiece() error {
	h, err := c.b.readHeader()
	if err != nil {
		return fmt.Errorf("read encryptedContent: %w", err)
	}
	if !h.is(classUniversal, tagOctetString) {
		return fmt.Errorf("%w: encryptedContent holds %v", ErrMalformed, h)
	}
	if !h.constructed {
		c.left = h.length
		return nil
	}
	c.depth++
	return c.b.enter(h)
}

package cms

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Limits that keep hostile input from costing memory or stack: declared
// lengths are checked, never allocated.
const (
	maxElement  = 1 << 20 // bytes of any element read whole (a RecipientInfo, authAttrs); larger is ErrUnsupported
	maxDepth    = 32      // nesting of constructed encodings
	maxLength   = 1 << 62 // larger declared lengths are nonsense
	maxTagBytes = 4       // high tag numbers up to 2^28
)

// ASN.1 classes and the universal tags the decoder meets.
const (
	classUniversal = 0
	classContext   = 2

	tagInteger     = 2
	tagOctetString = 4
	tagOID         = 6
	tagSequence    = 16
	tagSet         = 17
)

// header is one BER identifier and length.
type header struct {
	class       int
	tag         int
	constructed bool
	length      int64 // -1: indefinite
}

func (h header) is(class, tag int) bool { return h.class == class && h.tag == tag }

func (h header) isEOC() bool {
	return h.class == classUniversal && h.tag == 0 && !h.constructed && h.length == 0
}

func (h header) String() string {
	return fmt.Sprintf("class %d tag %d", h.class, h.tag)
}

// berReader walks a BER stream incrementally. frames holds the ends of the
// enclosing constructed encodings (-1: indefinite, closed by an EOC), so
// that every element is checked to fit inside its parent.
type berReader struct {
	r      *bufio.Reader
	pos    int64
	frames []int64
}

func newBERReader(r io.Reader) *berReader {
	return &berReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// truncated maps an early end of input to ErrTruncated.
func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w at the end of the input", ErrTruncated)
	}
	return err
}

func (b *berReader) readByte() (byte, error) {
	c, err := b.r.ReadByte()
	if err != nil {
		return 0, truncated(err)
	}
	b.pos++
	return c, nil
}

// limit is the end of the innermost definite-length frame, or -1.
func (b *berReader) limit() int64 {
	for i := len(b.frames) - 1; i >= 0; i-- {
		if b.frames[i] >= 0 {
			return b.frames[i]
		}
	}
	return -1
}

// fits checks that n more bytes stay inside the enclosing definite frames.
func (b *berReader) fits(n int64) error {
	if end := b.limit(); end >= 0 && b.pos+n > end {
		return fmt.Errorf("%w: element at offset %d overruns its parent", ErrMalformed, b.pos)
	}
	return nil
}

func (b *berReader) readHeader() (header, error) {
	var h header
	c, err := b.readByte()
	if err != nil {
		return h, err
	}
	h.class, h.constructed, h.tag = int(c>>6), c&0x20 != 0, int(c&0x1f)
	if h.tag == 0x1f {
		if h.tag, err = b.readHighTag(); err != nil {
			return h, err
		}
	}
	if h.length, err = b.readLength(h.constructed); err != nil {
		return h, err
	}
	if err := b.fits(max(h.length, 0)); err != nil {
		return h, err
	}
	return h, nil
}

func (b *berReader) readHighTag() (int, error) {
	tag := 0
	for i := 0; i < maxTagBytes; i++ {
		c, err := b.readByte()
		if err != nil {
			return 0, err
		}
		if i == 0 && c == 0x80 {
			return 0, fmt.Errorf("%w: non-minimal tag", ErrMalformed)
		}
		tag = tag<<7 | int(c&0x7f)
		if c&0x80 == 0 {
			return tag, nil
		}
	}
	return 0, fmt.Errorf("%w: tag number too large", ErrMalformed)
}

func (b *berReader) readLength(constructed bool) (int64, error) {
	c, err := b.readByte()
	switch {
	case err != nil:
		return 0, err
	case c < 0x80:
		return int64(c), nil
	case c == 0x80 && constructed:
		return -1, nil
	case c == 0x80, c == 0xff, c&0x7f > 8:
		return 0, fmt.Errorf("%w: bad length byte %#x at offset %d", ErrMalformed, c, b.pos-1)
	}
	var n uint64
	for i := 0; i < int(c&0x7f); i++ {
		d, err := b.readByte()
		if err != nil {
			return 0, err
		}
		n = n<<8 | uint64(d)
		if n > maxLength {
			return 0, fmt.Errorf("%w: declared length too large at offset %d", ErrMalformed, b.pos)
		}
	}
	return int64(n), nil
}

// enter descends into a constructed element whose header was just read.
func (b *berReader) enter(h header) error {
	if len(b.frames) >= maxDepth {
		return fmt.Errorf("%w: nested too deeply", ErrMalformed)
	}
	end := int64(-1)
	if h.length >= 0 {
		end = b.pos + h.length
	}
	b.frames = append(b.frames, end)
	return nil
}

// more reports whether the current frame holds another element.
func (b *berReader) more() (bool, error) {
	end := b.frames[len(b.frames)-1]
	if end >= 0 {
		return b.pos < end, nil
	}
	p, err := b.r.Peek(2)
	if err != nil {
		return false, truncated(err)
	}
	return p[0] != 0 || p[1] != 0, nil
}

// leave checks that the current frame is fully read and closes it.
func (b *berReader) leave() error {
	end := b.frames[len(b.frames)-1]
	if end >= 0 && b.pos != end {
		return fmt.Errorf("%w: %d unread bytes at offset %d", ErrMalformed, end-b.pos, b.pos)
	}
	if end < 0 {
		if err := b.expectEOC(); err != nil {
			return err
		}
	}
	b.frames = b.frames[:len(b.frames)-1]
	return nil
}

func (b *berReader) expectEOC() error {
	if err := b.fits(2); err != nil {
		return err
	}
	for range 2 {
		c, err := b.readByte()
		if err != nil {
			return err
		}
		if c != 0 {
			return fmt.Errorf("%w: missing end-of-contents at offset %d", ErrMalformed, b.pos-1)
		}
	}
	return nil
}

// expect reads a header and checks its class, tag and form.
func (b *berReader) expect(class, tag int, constructed bool, what string) (header, error) {
	h, err := b.readHeader()
	if err != nil {
		return h, fmt.Errorf("read %s: %w", what, err)
	}
	if !h.is(class, tag) || h.constructed != constructed {
		return h, fmt.Errorf("%w: %s: unexpected %v", ErrMalformed, what, h)
	}
	return h, nil
}

// readContent reads n bytes, n already checked against the budget.
func (b *berReader) readContent(n int64) ([]byte, error) {
	buf := make([]byte, n)
	if _, err := io.ReadFull(b.r, buf); err != nil {
		return nil, truncated(err)
	}
	b.pos += n
	return buf, nil
}

// node is one element read whole, normalised towards DER: definite lengths,
// constructed OCTET STRINGs joined into one primitive.
type node struct {
	header
	content []byte // for constructed nodes, the DER of the children
}

// der re-encodes the node with a definite length.
func (n node) der() []byte {
	// A tag number of 31 or more goes after the identifier octet, whose
	// low five bits then say only "high tag" (0x1f): OR-ing the number in
	// would spill into the form and class bits.
	id := byte(n.class<<6) | byte(min(n.tag, 0x1f))
	if n.constructed {
		id |= 0x20
	}
	out := []byte{id}
	if n.tag >= 0x1f {
		out = append(out, base128(n.tag)...)
	}
	return append(append(out, derHeader(0, int64(len(n.content)))[1:]...), n.content...)
}

func base128(v int) []byte {
	out := []byte{byte(v & 0x7f)}
	for v >>= 7; v > 0; v >>= 7 {
		out = append([]byte{byte(v&0x7f) | 0x80}, out...)
	}
	return out
}

// readElement reads one whole element of at most maxElement bytes.
func (b *berReader) readElement(what string) (node, error) {
	budget := int64(maxElement)
	n, err := b.readNode(&budget)
	if err != nil {
		return n, fmt.Errorf("read %s: %w", what, err)
	}
	return n, nil
}

func (b *berReader) readNode(budget *int64) (node, error) {
	start := b.pos
	h, err := b.readHeader()
	if err != nil {
		return node{}, err
	}
	*budget -= b.pos - start
	if h.isEOC() {
		return node{}, fmt.Errorf("%w: unexpected end-of-contents at offset %d", ErrMalformed, start)
	}
	if h.length > *budget {
		return node{}, overLimit(h.length)
	}
	if !h.constructed {
		*budget -= h.length
		c, err := b.readContent(h.length)
		return node{h, c}, err
	}
	return b.readChildren(h, budget)
}

// overLimit is the error of an element too large to be read whole: a valid
// file this package does not support, not a malformed one.
func overLimit(n int64) error {
	return fmt.Errorf("%w: element of %d bytes exceeds the %d-byte limit", ErrUnsupported, n, maxElement)
}

// readBody reads the rest of one element whose header h was just read, as
// readElement would have read it whole.
func (b *berReader) readBody(h header, what string) (node, error) {
	budget := int64(maxElement)
	if h.length > budget {
		return node{}, fmt.Errorf("read %s: %w", what, overLimit(h.length))
	}
	var n node
	var err error
	if h.constructed {
		n, err = b.readChildren(h, &budget)
	} else {
		var c []byte
		c, err = b.readContent(h.length)
		n = node{h, c}
	}
	if err != nil {
		return n, fmt.Errorf("read %s: %w", what, err)
	}
	return n, nil
}

// skip reads past one element without keeping it, whatever its size.
func (b *berReader) skip() error {
	h, err := b.readHeader()
	if err != nil {
		return err
	}
	if h.isEOC() {
		return fmt.Errorf("%w: unexpected end-of-contents at offset %d", ErrMalformed, b.pos-2)
	}
	return b.skipBody(h)
}

// skipBody reads past the rest of an element whose header h was just read:
// a definite length is discarded unread, an indefinite one walked child by
// child (the depth limit applies), so memory stays flat.
func (b *berReader) skipBody(h header) error {
	if h.length >= 0 {
		n, err := io.CopyN(io.Discard, b.r, h.length)
		b.pos += n
		if err != nil {
			return truncated(err)
		}
		return nil
	}
	if err := b.enter(h); err != nil {
		return err
	}
	for {
		more, err := b.more()
		if err != nil {
			return err
		}
		if !more {
			return b.leave()
		}
		if err := b.skip(); err != nil {
			return err
		}
	}
}

func (b *berReader) readChildren(h header, budget *int64) (node, error) {
	if err := b.enter(h); err != nil {
		return node{}, err
	}
	out := node{header: h}
	for {
		ok, err := b.more()
		if err != nil {
			return out, err
		}
		if !ok {
			break
		}
		kid, err := b.readNode(budget)
		if err != nil {
			return out, err
		}
		out.content, err = appendChild(out, kid)
		if err != nil {
			return out, err
		}
	}
	if h.is(classUniversal, tagOctetString) {
		out.constructed = false
	}
	return out, b.leave()
}

// appendChild adds a child's DER, or only its bytes inside a constructed
// OCTET STRING (whose pieces must be OCTET STRINGs themselves).
func appendChild(parent, kid node) ([]byte, error) {
	if !parent.is(classUniversal, tagOctetString) {
		return append(parent.content, kid.der()...), nil
	}
	if !kid.is(classUniversal, tagOctetString) {
		return nil, fmt.Errorf("%w: constructed OCTET STRING holds %v", ErrMalformed, kid.header)
	}
	return append(parent.content, kid.content...), nil
}

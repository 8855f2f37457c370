package cms

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestHighTagNumbers reads elements whose tag number takes the high-tag
// form (X.690 §8.1.2.4: 0x1f, then base-128 digits) and re-encodes them
// as DER, as authAttrs are before they are authenticated. Tags of more
// than four digits (over 2^28) and a leading 0x80 digit (not minimal,
// which X.690 forbids) are malformed.
func TestHighTagNumbers(t *testing.T) {
	tests := []struct {
		name        string
		in          []byte
		class, tag  int
		constructed bool
		content     []byte
		der         []byte // the DER re-encoding; nil: in itself
		err         error
		errText     string
	}{
		{name: "[APPLICATION 31], the first high tag", in: []byte{0x5f, 0x1f, 0x01, 'a'}, class: 1, tag: 31, content: []byte("a")},
		{name: "[PRIVATE 1025], two digits", in: []byte{0xdf, 0x88, 0x01, 0x02, 'a', 'b'}, class: 3, tag: 1025, content: []byte("ab")},
		{name: "[CONTEXT 0xfffff01], four digits", in: []byte{0x9f, 0xff, 0xff, 0xfe, 0x01, 0x00}, class: 2, tag: 0xfffff01, content: []byte{}},
		{name: "UNIVERSAL 257 constructed, indefinite", in: []byte{0x3f, 0x82, 0x01, 0x80, 0x04, 0x01, 'x', 0x00, 0x00},
			tag: 257, constructed: true, content: []byte{0x04, 0x01, 'x'}, der: []byte{0x3f, 0x82, 0x01, 0x03, 0x04, 0x01, 'x'}},
		// Tag numbers whose low byte has any of the top three bits set.
		{name: "[PRIVATE 1000], two digits", in: []byte{0xdf, 0x87, 0x68, 0x02, 'a', 'b'}, class: 3, tag: 1000, content: []byte("ab")},
		{name: "[CONTEXT 2^28 - 1], four digits", in: []byte{0x9f, 0xff, 0xff, 0xff, 0x7f, 0x00}, class: 2, tag: 1<<28 - 1, content: []byte{}},
		{name: "UNIVERSAL 128 constructed, indefinite", in: []byte{0x3f, 0x81, 0x00, 0x80, 0x04, 0x01, 'x', 0x00, 0x00},
			tag: 128, constructed: true, content: []byte{0x04, 0x01, 'x'}, der: []byte{0x3f, 0x81, 0x00, 0x03, 0x04, 0x01, 'x'}},
		{name: "five digits", in: []byte{0x9f, 0x81, 0x80, 0x80, 0x80, 0x00, 0x00}, err: ErrMalformed, errText: "tag number too large"},
		{name: "leading zero digit", in: []byte{0x9f, 0x80, 0x1f, 0x00}, err: ErrMalformed, errText: "non-minimal tag"},
		{name: "cut in the tag", in: []byte{0x9f, 0x87}, err: ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBERReader(bytes.NewReader(tt.in))
			n, err := b.readElement("element")
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("got %v, want %v (%s)", err, tt.err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n.class != tt.class || n.tag != tt.tag || n.constructed != tt.constructed || !bytes.Equal(n.content, tt.content) {
				t.Fatalf("got class %d tag %d constructed %v content %x", n.class, n.tag, n.constructed, n.content)
			}
			if b.pos != int64(len(tt.in)) {
				t.Fatalf("read %d of %d bytes", b.pos, len(tt.in))
			}
			want := tt.der
			if want == nil {
				want = tt.in
			}
			if got := n.der(); !bytes.Equal(got, want) {
				t.Fatalf("DER %x, want %x", got, want)
			}
		})
	}
}

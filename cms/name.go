package cms

import (
	"bytes"
	"encoding/asn1"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Universal tags of the DirectoryString types a Name's values use.
const (
	tagUTF8String      = 12
	tagPrintableString = 19
	tagT61String       = 20
	tagIA5String       = 22
	tagVisibleString   = 26
	tagUniversalString = 28
	tagBMPString       = 30
)

// sameName reports whether two DER Names name the same entity, as openssl's
// X509_NAME_cmp decides (RFC 5280 §7.1): equal bytes, or equal canonical
// forms, where every string value is turned into UTF-8 with ASCII letters
// lower-cased, leading and trailing white space dropped and inner runs of
// it made one space, whatever string type it was written with. So a
// PrintableString issuer in a certificate matches the UTF8String one a
// Java/BouncyCastle producer wrote into the file. Only ASCII letters are
// case-folded, as openssl does. A Name that does not parse matches only
// itself.
func sameName(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ca, okA := canonicalName(a)
	cb, okB := canonicalName(b)
	return okA && okB && bytes.Equal(ca, cb)
}

type attributeTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

// canonicalName is the concatenation of the canonical RDNs: each a SET of
// canonical AttributeTypeAndValues in DER order.
func canonicalName(der []byte) ([]byte, bool) {
	var rdns []asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) > 0 {
		return nil, false
	}
	var out []byte
	for _, rdn := range rdns {
		var atvs []attributeTypeAndValue
		if rest, err := asn1.UnmarshalWithParams(rdn.FullBytes, &atvs, "set"); err != nil || len(rest) > 0 {
			return nil, false
		}
		encs := make([][]byte, 0, len(atvs))
		for _, atv := range atvs {
			atv.Value = canonicalValue(atv.Value)
			enc, err := asn1.Marshal(atv)
			if err != nil {
				return nil, false
			}
			encs = append(encs, enc)
		}
		slices.SortFunc(encs, bytes.Compare)
		set, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(encs, nil)})
		if err != nil {
			return nil, false
		}
		out = append(out, set...)
	}
	return out, true
}

// canonicalValue re-encodes a string value as a folded UTF8String; other
// values (and strings that do not decode) stay as they are.
func canonicalValue(v asn1.RawValue) asn1.RawValue {
	if v.Class != asn1.ClassUniversal || v.IsCompound {
		return v
	}
	s, ok := decodeString(v.Tag, v.Bytes)
	if !ok {
		return v
	}
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: tagUTF8String, Bytes: []byte(foldString(s))}
}

func decodeString(tag int, b []byte) (string, bool) {
	switch tag {
	case tagUTF8String, tagPrintableString, tagIA5String, tagVisibleString:
		return string(b), utf8.Valid(b)
	case tagT61String: // read as Latin-1, as openssl does
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r), true
	case tagBMPString:
		if len(b)%2 != 0 {
			return "", false
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return string(utf16.Decode(u)), true
	case tagUniversalString:
		if len(b)%4 != 0 {
			return "", false
		}
		r := make([]rune, len(b)/4)
		for i := range r {
			r[i] = rune(b[4*i])<<24 | rune(b[4*i+1])<<16 | rune(b[4*i+2])<<8 | rune(b[4*i+3])
		}
		return string(r), true
	}
	return "", false
}

// foldString lower-cases ASCII letters, drops leading and trailing ASCII
// white space and makes each inner run of it one space.
func foldString(s string) string {
	var b strings.Builder
	space := false
	for _, f := range strings.FieldsFunc(s, isASCIISpace) {
		if space {
			b.WriteByte(' ')
		}
		space = true
		for i := 0; i < len(f); i++ {
			c := f[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isASCIISpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

package backup

import (
	"bufio"
	"bytes"
	"encoding/asn1"
	"io"
	"os"

	"github.com/rcbs/rcbs/cms"
)

// sniffLen is enough bytes to see a CMS ContentInfo's outer header and OID.
const sniffLen = 32

// The DER of the content types, from their one definition in package cms.
var (
	oidEnvelopedData     = derOID(cms.EnvelopedDataOID())
	oidAuthEnvelopedData = derOID(cms.AuthEnvelopedDataOID())
)

func derOID(oid asn1.ObjectIdentifier) []byte {
	b, err := asn1.Marshal(oid)
	if err != nil {
		panic("backup: " + err.Error()) // a constant OID always marshals
	}
	return b
}

// looksLikeCMS reports whether head starts a CMS ContentInfo holding
// EnvelopedData or AuthEnvelopedData: a SEQUENCE (definite or indefinite
// length, as openssl -stream writes) whose first element is one of those
// OIDs. An MP3 or MP4 never starts so.
func looksLikeCMS(head []byte) bool {
	if len(head) < 2 || head[0] != 0x30 {
		return false
	}
	rest := head[2:]
	switch l := head[1]; {
	case l == 0x80 || l < 0x80: // indefinite or short form
	case l <= 0x84:
		n := int(l & 0x7f)
		if len(rest) < n {
			return false
		}
		rest = rest[n:]
	default:
		return false
	}
	return bytes.HasPrefix(rest, oidEnvelopedData) || bytes.HasPrefix(rest, oidAuthEnvelopedData)
}

// peekHead wraps r so that its first bytes can be looked at and still read.
func peekHead(r io.Reader) (*bufio.Reader, []byte) {
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(sniffLen) // fewer at EOF; the error returns on Read
	return br, head
}

// fileIsCMS sniffs a file on disk.
func fileIsCMS(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, sniffLen)
	n, _ := io.ReadFull(f, head)
	return looksLikeCMS(head[:n])
}

package backup

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"strconv"
	"strings"
)

// How a downloaded media file's bytes were checked against the source; the
// summary and the metrics count files by these (rcbs_files_verified).
const (
	// VerifySDK: the AWS SDK checked a whole-object GET against the
	// full-object checksum in the response headers.
	VerifySDK = "sdk-checksum"
	// VerifyFullObject: rcbs checked the stored full-object checksum
	// (HeadObject with checksum mode) against one computed as the bytes
	// streamed — ranged downloads, which carry no checksum.
	VerifyFullObject = "full-object-checksum"
	// VerifyComposite: a multipart object's composite checksum ("…-N"),
	// rebuilt from per-upload-part checksums of the streamed bytes.
	VerifyComposite = "composite-checksum"
	// VerifyMD5ETag: the MD5 of the bytes against an ETag that is one (a
	// single-part upload without SSE-KMS/SSE-C), or a multipart ETag
	// rebuilt from per-part MD5s.
	VerifyMD5ETag = "md5-etag"
	// VerifyNone: nothing to check against (no stored checksum and an
	// ETag that is no MD5, or media fetched through the API).
	VerifyNone = "none"
)

// VerifyMethods lists the methods in the order they are reported.
var VerifyMethods = []string{VerifySDK, VerifyFullObject, VerifyComposite, VerifyMD5ETag, VerifyNone}

// errChecksum is a body whose bytes do not match the source's checksum: a
// failed attempt (retried; the file is never committed).
var errChecksum = errors.New("checksum mismatch")

// maxCheckedParts bounds the HeadObject requests spent learning a multipart
// object's part sizes; objects with more parts stay unchecked.
const maxCheckedParts = 64

// Checksum is an object's stored checksum as S3 reports it.
type Checksum struct {
	Algorithm string // CRC32, CRC32C, CRC64NVME, SHA1 or SHA256; "" for none
	Value     string // base64, without the "-N" of a composite checksum
	Parts     int    // composite: the number of upload parts; 0 for a full-object checksum
}

// parseChecksum splits "value-N" (composite) from a full-object value.
func parseChecksum(alg, v string) Checksum {
	if v == "" {
		return Checksum{}
	}
	c := Checksum{Algorithm: alg, Value: v}
	if i := strings.LastIndexByte(v, '-'); i > 0 {
		if n, err := strconv.Atoi(v[i+1:]); err == nil && n > 0 {
			c.Value, c.Parts = v[:i], n
		}
	}
	return c
}

// crc64NVME is the table of CRC-64/NVME, S3's default checksum (reversed
// polynomial of 0xad93d23594c93659; hash/crc64 applies the init and final
// inversions the algorithm wants).
var crc64NVME = crc64.MakeTable(0x9a6c9329ac4bc9b5)

var crc32C = crc32.MakeTable(crc32.Castagnoli)

// newHash makes the hash of a checksum algorithm; nil for an unknown one.
func newHash(alg string) hash.Hash {
	switch alg {
	case "CRC32":
		return crc32.NewIEEE()
	case "CRC32C":
		return crc32.New(crc32C)
	case "CRC64NVME":
		return crc64.New(crc64NVME)
	case "SHA1":
		return sha1.New()
	case "SHA256":
		return sha256.New()
	case "MD5":
		return md5.New()
	}
	return nil
}

// check is how one download will be verified: the digest expected of the
// object's bytes, whole or as the digest of its upload parts' digests.
type check struct {
	method string
	alg    string
	want   []byte
	parts  []int64 // sizes of the upload parts, for a composite digest
}

// describer is a store that can tell an object's stored checksum and the
// sizes of its upload parts without reading it; *S3Store is one. Head with
// part 0 describes the whole object, with part n ≥ 1 that upload part.
type describer interface {
	Head(ctx context.Context, in GetInput, part int) (*Object, error)
}

// planCheck chooses how to verify obj, the response to the first GET of
// in: the SDK's own check when a whole-object response carried a
// full-object checksum, else the stored checksum (asked for when a range
// response carried none), else the ETag's MD5, else nothing.
func (e *engine) planCheck(ctx context.Context, in GetInput, obj *Object, ranged bool) (check, error) {
	cs := obj.Checksum
	if !ranged && cs.Value != "" && cs.Parts == 0 {
		return check{method: VerifySDK}, nil
	}
	d, _ := e.store.(describer)
	if ranged && cs.Value == "" && d != nil {
		head, err := d.Head(ctx, GetInput{Bucket: in.Bucket, Key: in.Key, IfMatch: obj.ETag}, 0)
		if err != nil {
			return check{}, fmt.Errorf("read the stored checksum: %w", err)
		}
		cs = head.Checksum
	}
	c, ok := checksumCheck(cs)
	if ok && cs.Parts == 0 {
		return c, nil
	}
	if ok { // composite: needs the upload's part sizes
		sizes, err := partSizes(ctx, d, in, obj, cs.Parts)
		if err != nil || sizes != nil {
			c.parts = sizes
			return c, err
		}
	}
	return etagCheck(ctx, d, in, obj)
}

// checksumCheck decodes a stored checksum into a check.
func checksumCheck(cs Checksum) (check, bool) {
	want, err := base64.StdEncoding.DecodeString(cs.Value)
	if err != nil || newHash(cs.Algorithm) == nil || len(want) != newHash(cs.Algorithm).Size() {
		return check{}, false
	}
	method := VerifyFullObject
	if cs.Parts > 0 {
		method = VerifyComposite
	}
	return check{method: method, alg: cs.Algorithm, want: want}, true
}

// etagCheck uses the ETag as an MD5: plain for a single-part upload,
// "md5-of-part-md5s-N" for a multipart one. Never for SSE-KMS or SSE-C
// objects, whose ETag is no MD5 of the content.
func etagCheck(ctx context.Context, d describer, in GetInput, obj *Object) (check, error) {
	tag := strings.Trim(obj.ETag, `"`)
	cs := parseChecksum("MD5", tag)
	want, err := hex.DecodeString(cs.Value)
	if obj.OpaqueETag || err != nil || len(want) != md5.Size {
		return check{method: VerifyNone}, nil
	}
	c := check{method: VerifyMD5ETag, alg: "MD5", want: want}
	if cs.Parts == 0 {
		return c, nil
	}
	sizes, err := partSizes(ctx, d, in, obj, cs.Parts)
	if sizes == nil {
		return check{method: VerifyNone}, err
	}
	c.parts = sizes
	return c, err
}

// partSizes asks for the size of each upload part (HeadObject with
// partNumber). nil, nil: the store cannot tell, or there are too many.
func partSizes(ctx context.Context, d describer, in GetInput, obj *Object, n int) ([]int64, error) {
	if d == nil || n > maxCheckedParts {
		return nil, nil
	}
	sizes := make([]int64, n)
	var total int64
	for i := range n {
		p, err := d.Head(ctx, GetInput{Bucket: in.Bucket, Key: in.Key, IfMatch: obj.ETag}, i+1)
		if err != nil {
			return nil, fmt.Errorf("read the size of upload part %d: %w", i+1, err)
		}
		sizes[i], total = p.Length, total+p.Length
	}
	if total != obj.Size {
		return nil, nil // a store that ignores partNumber answers with the whole object
	}
	return sizes, nil
}

// verifier digests an object's bytes, in order, for a check: the whole
// stream, or each upload part and then the digest of the part digests.
// Not safe for concurrent use; the orderedHash feeding it serialises.
type verifier struct {
	c     check
	whole hash.Hash // the whole stream, or the digest of part digests
	part  hash.Hash // the current upload part (composite)
	i     int       // index of the current upload part
	left  int64     // bytes left in it
	n     int64
}

// newVerifier is nil when nothing is to be computed (the SDK checks, or
// nothing can be checked).
func newVerifier(c check) *verifier {
	if c.want == nil {
		return nil
	}
	v := &verifier{c: c, whole: newHash(c.alg)}
	if c.parts != nil {
		v.part = newHash(c.alg)
		v.left = c.parts[0]
	}
	return v
}

func (v *verifier) Write(p []byte) (int, error) {
	v.n += int64(len(p))
	if v.part == nil {
		return v.whole.Write(p)
	}
	n := len(p)
	for len(p) > 0 && v.i < len(v.c.parts) {
		k := min(int64(len(p)), v.left)
		v.part.Write(p[:k])
		p, v.left = p[k:], v.left-k
		if v.left == 0 {
			v.whole.Write(v.part.Sum(nil))
			v.part.Reset()
			if v.i++; v.i < len(v.c.parts) {
				v.left = v.c.parts[v.i]
			}
		}
	}
	return n, nil
}

// verify compares the digest of what was written with the expected one.
func (v *verifier) verify() error {
	if v.part != nil && v.i != len(v.c.parts) {
		return fmt.Errorf("%s: %d bytes do not fill the %d upload parts: %w", v.c.method, v.n, len(v.c.parts), errChecksum)
	}
	if got := v.whole.Sum(nil); !bytes.Equal(got, v.c.want) {
		return fmt.Errorf("%s %s of the %d bytes is %x, the source says %x: %w", v.c.method, v.c.alg, v.n, got, v.c.want, errChecksum)
	}
	return nil
}

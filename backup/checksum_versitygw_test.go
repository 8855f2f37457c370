package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/rcbs/rcbs/cloudsim/s3test"
	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/internal/faultproxy"
)

// upload is how a test object is stored in versitygw.
type upload struct {
	alg       types.ChecksumAlgorithm // "": none asked for (versitygw then keeps a CRC64NVME)
	multipart types.ChecksumType      // "": a single PUT; else parts of 5 MiB with this checksum type
}

// corruptCase is one object: stored one way, served through the proxy
// with or without a flipped bit.
type corruptCase struct {
	name   string
	size   int
	up     upload
	hide   bool // the proxy hides the checksum headers: only the ETag is left
	noETag bool // and the ETag too: nothing is left to check
	method string
}

// What versitygw v1.8.0 does, found by trying it (and why the cases are
// these): PutObject takes CRC32, CRC32C, CRC64NVME, SHA1 and SHA256 and
// stores a CRC64NVME when asked for none (as AWS does), so "no checksum"
// needs the proxy to hide the headers; GET and HEAD return the stored
// checksum with checksum mode on, range responses none; multipart uploads
// keep a composite "…-N" CRC32 or SHA256, or a full-object CRC32 (a
// full-object SHA256 is refused, as on AWS); GetObjectAttributes returns
// the checksum but no ObjectParts, and HEAD with partNumber the part's
// size but not its checksum — so part sizes come from HEAD, and composite
// checksums are rebuilt from the streamed bytes; the ETag is the MD5 of a
// single PUT and the MD5 of the part MD5s "-N" of a multipart upload.
//
// Against a real S3 server through a proxy that flips one bit (and holds
// back the tail of small bodies, where the SDK's checksum error used to be
// lost): every corrupted object fails after `retries` attempts and holds
// the state back; every intact one passes, counted by how it was checked.
func TestCorruptionCaughtAgainstVersityGW(t *testing.T) {
	const mib = 1 << 20
	endpoint, access, secret := s3test.StartVersityGW(t)
	crc32, sha256 := types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmSha256
	composite, full := types.ChecksumTypeComposite, types.ChecksumTypeFullObject
	cases := []corruptCase{
		{"small CRC32", 3000, upload{alg: crc32}, false, false, VerifySDK},
		{"small SHA256", 3000, upload{alg: sha256}, false, false, VerifySDK},
		{"small, no checksum", 3000, upload{}, true, false, VerifyMD5ETag},
		{"1MiB CRC32", mib, upload{alg: crc32}, false, false, VerifySDK},
		{"1MiB SHA256", mib, upload{alg: sha256}, false, false, VerifySDK},
		{"1MiB, no checksum", mib, upload{}, true, false, VerifyMD5ETag},
		{"ranged CRC32", 40 * mib, upload{alg: crc32}, false, false, VerifyFullObject},
		{"ranged SHA256", 40 * mib, upload{alg: sha256}, false, false, VerifyFullObject},
		{"ranged, no checksum", 40 * mib, upload{}, true, false, VerifyMD5ETag},
		{"multipart composite CRC32", 11 * mib, upload{crc32, composite}, false, false, VerifyComposite},
		{"multipart composite SHA256", 11 * mib, upload{sha256, composite}, false, false, VerifyComposite},
		{"multipart full-object CRC32", 11 * mib, upload{crc32, full}, false, false, VerifySDK},
		{"multipart, no checksum", 11 * mib, upload{"", composite}, true, false, VerifyMD5ETag},
	}
	proxy, err := faultproxy.Start(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		HTTPClient: awshttp.NewBuildableClient(), Credentials: credentials.NewStaticCredentialsProvider(access, secret, "")})
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	wantFailed, wantMedia, wantVerified := []string{}, map[string][]byte{}, map[string]int{}
	add := func(i int, c corruptCase, corrupt bool) {
		id := fmt.Sprintf("CASE%02d%s", i, map[bool]string{true: "BAD", false: "OK"}[corrupt])
		data := blob(byte(i)+map[bool]byte{true: 100}[corrupt], c.size)
		key := "media/" + id + ".mp3"
		putTestObject(t, client, key, data, c.up)
		start := day(1, i%24)
		w.addRecording(id, start, media{id: id + ".mp3", typ: "audio/mp3", data: data, noPut: true})
		fault := faultproxy.Fault{Flip: -1, StripChecksums: c.hide, StripETag: c.noETag}
		if corrupt {
			fault.Flip = int64(c.size) - 1 - int64(i)*977%int64(c.size/2) // somewhere in the second half
			if c.size <= mib {
				fault.Delay, fault.Tail = 200*time.Millisecond, 16
			}
			wantFailed = append(wantFailed, id)
		} else {
			wantMedia[fmt.Sprintf("2018/01/01/%02d/%s/%s.mp3.bin", i%24, id, id)] = data
			wantVerified[c.method]++
		}
		proxy.Set("/"+testBucket+"/"+key, fault)
	}
	for i, c := range cases {
		add(i, c, true)
		add(i, c, false)
	}
	// Nothing left to check at all: it passes, counted as unverified.
	add(len(cases), corruptCase{"no checksum, no ETag", 3000, upload{}, true, true, VerifyNone}, false)

	cfg := w.config()
	cfg.AWSEndpoint, cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = proxy.URL, access, config.Secret(secret)
	cfg.Retries = 2
	deps := w.deps()
	deps.Tuning = Tuning{BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond} // real part sizes
	sum, err := Run(ctx, cfg, deps)
	if !errors.Is(err, ErrRecordingsFailed) {
		t.Fatalf("run: %v, want some recordings failed", err)
	}
	sort.Strings(sum.FailedIDs)
	if fmt.Sprint(sum.FailedIDs) != fmt.Sprint(wantFailed) {
		t.Errorf("failed %v\nwant   %v\nlog:\n%s", sum.FailedIDs, wantFailed, w.logs.String())
	}
	if fmt.Sprint(sum.Verified) != fmt.Sprint(wantVerified) {
		t.Errorf("verified %v, want %v", sum.Verified, wantVerified)
	}
	if got := readState(t, w.target); got != "" {
		t.Errorf("state file %q: corrupted recordings must hold it back", got)
	}
	checkMedia(t, w.target, wantMedia)
	for i, c := range cases {
		path := fmt.Sprintf("/%s/media/CASE%02dBAD.mp3", testBucket, i)
		parts := 1
		if c.size > 32<<20 {
			parts = (c.size + 8<<20 - 1) / (8 << 20)
		}
		if got := proxy.Gets(path); got != cfg.Retries*parts {
			t.Errorf("%s: %d GETs of the corrupted object, want retries=%d × %d parts", c.name, got, cfg.Retries, parts)
		}
		if got := proxy.Flipped(path); got != cfg.Retries {
			t.Errorf("%s: the bit was flipped in %d bodies, want one per attempt (%d)", c.name, got, cfg.Retries)
		}
	}
}

// putTestObject stores data at key: one PUT, or parts of 5 MiB.
func putTestObject(t *testing.T, client *s3.Client, key string, data []byte, up upload) {
	t.Helper()
	ctx := context.Background()
	b, k := aws.String(testBucket), aws.String(key)
	if up.multipart == "" {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: k, Body: bytes.NewReader(data), ChecksumAlgorithm: up.alg}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		return
	}
	in := &s3.CreateMultipartUploadInput{Bucket: b, Key: k}
	if up.alg != "" {
		in.ChecksumAlgorithm, in.ChecksumType = up.alg, up.multipart
	}
	cm, err := client.CreateMultipartUpload(ctx, in)
	if err != nil {
		t.Fatalf("create upload %s: %v", key, err)
	}
	var parts []types.CompletedPart
	for off, n := 0, int32(1); off < len(data); off, n = off+5<<20, n+1 {
		p, err := client.UploadPart(ctx, &s3.UploadPartInput{Bucket: b, Key: k, UploadId: cm.UploadId, PartNumber: aws.Int32(n),
			Body: bytes.NewReader(data[off:min(off+5<<20, len(data))]), ChecksumAlgorithm: up.alg})
		if err != nil {
			t.Fatalf("upload part %d of %s: %v", n, key, err)
		}
		parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(n), ETag: p.ETag, ChecksumCRC32: p.ChecksumCRC32, ChecksumSHA256: p.ChecksumSHA256})
	}
	done := &s3.CompleteMultipartUploadInput{Bucket: b, Key: k, UploadId: cm.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}
	if up.alg != "" {
		done.ChecksumType = up.multipart
	}
	if _, err := client.CompleteMultipartUpload(ctx, done); err != nil {
		t.Fatalf("complete upload %s: %v", key, err)
	}
}

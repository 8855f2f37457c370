package cloudsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"golang.org/x/sync/errgroup"
)

// Default credentials of the in-process S3 (Options.AccessKey/SecretKey):
// what Env prints, and the only pair its SigV4 check (s3auth.go) accepts.
const (
	simAccessKey = "rcbs-sim-access"
	simSecretKey = "rcbs-sim-secret"
)

// simBackend is gofakes3's s3mem with the generated media kept outside it:
// s3mem holds an empty stand-in per generated object (so that listing,
// metadata and bucket operations behave as gofakes3 does) and the bytes
// come from the blob, in memory or spooled to disk. One copy in RAM for
// small profiles, none for large ones. Safe for concurrent use.
type simBackend struct {
	*s3mem.Backend
	mu    sync.RWMutex
	blobs map[string]*blob // bucket + "/" + key
}

func newSimBackend() *simBackend {
	return &simBackend{Backend: s3mem.New(), blobs: map[string]*blob{}}
}

// putBlob stores a generated object, creating its bucket when missing.
func (b *simBackend) putBlob(bucket, key string, bl *blob) error {
	if ok, _ := b.BucketExists(bucket); !ok {
		if err := b.CreateBucket(bucket); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
			return fmt.Errorf("create bucket %s: %w", bucket, err)
		}
	}
	// The metadata gofakes3 itself would record for a PUT; clients (aws s3 cp) need Last-Modified.
	meta := map[string]string{"Content-Type": "application/octet-stream", "Last-Modified": time.Now().UTC().Format(http.TimeFormat)}
	if _, err := b.Backend.PutObject(bucket, key, meta, bytes.NewReader(nil), 0, nil); err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	b.mu.Lock()
	b.blobs[bucket+"/"+key] = bl
	b.mu.Unlock()
	return nil
}

func (b *simBackend) blob(bucket, key string) *blob {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.blobs[bucket+"/"+key]
}

func (b *simBackend) forget(bucket string, keys ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.blobs, bucket+"/"+k)
	}
}

// GetObject serves a generated object's bytes (the requested range of
// them) in place of its empty stand-in.
func (b *simBackend) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	bl := b.blob(bucket, key)
	if bl == nil {
		return b.Backend.GetObject(bucket, key, rng)
	}
	obj, err := b.Backend.HeadObject(bucket, key)
	if err != nil {
		return nil, err
	}
	obj.Size, obj.Hash = bl.size, bl.md5
	if obj.Range, err = rng.Range(bl.size); err != nil {
		return nil, err
	}
	rc, err := bl.open()
	if err != nil {
		return nil, err
	}
	start, n := int64(0), bl.size
	if obj.Range != nil {
		start, n = obj.Range.Start, obj.Range.Length
	}
	if _, err := rc.Seek(start, io.SeekStart); err != nil {
		rc.Close()
		return nil, err
	}
	obj.Contents = readCloser{io.LimitReader(rc, n), rc}
	return obj, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func (b *simBackend) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	obj, err := b.Backend.HeadObject(bucket, key)
	if bl := b.blob(bucket, key); err == nil && bl != nil {
		obj.Size, obj.Hash = bl.size, bl.md5
	}
	return obj, err
}

// ListBucket reports generated objects with their real size and ETag.
func (b *simBackend) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	list, err := b.Backend.ListBucket(name, prefix, page)
	if err != nil {
		return nil, err
	}
	for _, c := range list.Contents {
		if bl := b.blob(name, c.Key); bl != nil {
			c.Size, c.ETag = bl.size, `"`+hex.EncodeToString(bl.md5)+`"`
		}
	}
	return list, nil
}

// PutObject replaces a generated object with what the client sends.
func (b *simBackend) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	res, err := b.Backend.PutObject(bucket, key, meta, input, size, cond)
	if err == nil {
		b.forget(bucket, key)
	}
	return res, err
}

func (b *simBackend) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	b.forget(bucket, key)
	return b.Backend.DeleteObject(bucket, key)
}

func (b *simBackend) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	b.forget(bucket, keys...)
	return b.Backend.DeleteMulti(bucket, keys...)
}

// s3Handler is gofakes3 behind a SigV4 check (gofakes3 checks none), with
// request counting and fault injection on object GETs and HEADs (what rcbs
// asks); bucket listings and writes are never failed, so that `aws s3 ls`
// stays usable under faults. A refused signature is counted, never faulted.
func (c *Cloud) s3Handler() http.Handler {
	fake := gofakes3.New(c.backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	auth := sigV4{access: c.opts.AccessKey, secret: c.opts.SecretKey, now: time.Now}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		isObject := key != "" && (r.Method == http.MethodGet || r.Method == http.MethodHead)
		switch {
		case isObject && r.Method == http.MethodGet:
			c.stats.s3Get.Add(1)
		case isObject:
			c.stats.s3Head.Add(1)
		default:
			c.stats.s3Other.Add(1)
		}
		if err := auth.check(r); err != nil {
			writeAuthError(w, r, err)
			return
		}
		if !isObject {
			fake.ServeHTTP(w, r)
			return
		}
		c.s3Faults.sleep(r.Context())
		kind := c.s3Faults.decide(r.URL.Path, c.s3Faults.isNever(key))
		serveFault(c.s3Faults, w, r, fake, kind, s3ErrorBody(bucket+"/"+key))
	})
}

// serveFault answers with the fault kind, or lets next answer ("" kind).
func serveFault(fl *faulter, w http.ResponseWriter, r *http.Request, next http.Handler, kind string, body func(int) (string, []byte)) {
	switch kind {
	case "":
		next.ServeHTTP(w, r)
	case FaultReset, FaultTruncate:
		serveCut(w, r, next, kind == FaultReset)
	default:
		fl.errorResponse(w, r, kind, body)
	}
}

// s3ErrorBody is the XML error document S3 sends with a status.
func s3ErrorBody(resource string) func(int) (string, []byte) {
	return func(status int) (string, []byte) {
		code, msg := "InternalError", "We encountered an internal error. Please try again."
		switch status {
		case http.StatusServiceUnavailable:
			code, msg = "SlowDown", "Please reduce your request rate."
		case http.StatusTooManyRequests:
			code, msg = "TooManyRequests", "Please reduce your request rate."
		}
		return "application/xml", fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
			`<Error><Code>%s</Code><Message>%s</Message><Resource>/%s</Resource><RequestId>SIMULATED</RequestId></Error>`,
			code, msg, resource)
	}
}

// s3Object names one generated media object for UploadTo.
type s3Object struct {
	bucket, key string
	blob        *blob
}

// UploadTo puts every generated S3 object into an external S3-compatible
// server (versitygw, MinIO), creating the bucket; S3URL and Env then name
// that server. Objects go up four at a time, each streamed from its blob.
func (c *Cloud) UploadTo(ctx context.Context, endpoint, accessKey, secretKey string) error {
	client := newS3Client(endpoint, c.opts.Region, accessKey, secretKey)
	objs := c.s3Objects()
	if err := createBucket(ctx, client, c.opts.Bucket, c.opts.Region); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, o := range objs {
		g.Go(func() error { return putObject(ctx, client, o) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c.mu.Lock()
	c.external = &externalS3{endpoint: strings.TrimRight(endpoint, "/"), access: accessKey, secret: secretKey}
	c.mu.Unlock()
	return nil
}

// newS3Client builds a path-style client that needs no shared config. The
// HTTP client must be the SDK's buildable one: with AWS_CA_BUNDLE set (as
// on our machines) a plain *http.Client is refused.
func newS3Client(endpoint, region, access, secret string) *s3.Client {
	cfg := aws.Config{
		Region:                     region,
		Credentials:                credentials.NewStaticCredentialsProvider(access, secret, ""),
		HTTPClient:                 awshttp.NewBuildableClient(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

func createBucket(ctx context.Context, client *s3.Client, bucket, region string) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
	if region != "" && region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(region)}
	}
	_, err := client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

func putObject(ctx context.Context, client *s3.Client, o s3Object) error {
	rc, err := o.blob.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(o.bucket),
		Key:           aws.String(o.key),
		Body:          rc,
		ContentLength: aws.Int64(o.blob.size),
	})
	if err != nil {
		return fmt.Errorf("upload %s/%s: %w", o.bucket, o.key, err)
	}
	return nil
}

// s3Objects lists the generated S3 media, oldest recording first.
func (c *Cloud) s3Objects() []s3Object {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []s3Object
	for _, rec := range c.recs {
		for i, m := range rec.pub.Media {
			if m.Key != "" {
				out = append(out, s3Object{m.Bucket, m.Key, rec.blobs[i]})
			}
		}
	}
	return out
}

// uploadFresh puts new recordings' objects into the external S3 after
// UploadTo. Add has no context in its contract, so a generous timeout
// bounds it.
func (c *Cloud) uploadFresh(fresh []*genRecording) error {
	c.mu.RLock()
	ext := c.external
	c.mu.RUnlock()
	if ext == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	client := newS3Client(ext.endpoint, c.opts.Region, ext.access, ext.secret)
	for _, rec := range fresh {
		for i, m := range rec.pub.Media {
			if m.Key == "" {
				continue
			}
			if err := putObject(ctx, client, s3Object{m.Bucket, m.Key, rec.blobs[i]}); err != nil {
				return err
			}
		}
	}
	return nil
}

package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/rcbs/rcbs/config"
)

// ObjectStore fetches objects; *S3Store implements it, tests fake it. Get
// must be safe for concurrent use.
type ObjectStore interface {
	Get(ctx context.Context, in GetInput) (*Object, error)
}

// GetInput asks for an object or a byte range of it.
type GetInput struct {
	Bucket, Key string
	// Offset and Length select a range; Length 0 means to the end (and no
	// Range header at all when Offset is 0 too).
	Offset, Length int64
	IfMatch        string // ETag the object must still have; "" for any
}

// Object is an open object. The caller closes Body.
type Object struct {
	Body   io.ReadCloser
	Size   int64 // of the whole object
	Length int64 // of Body
	ETag   string
	// Checksum is the stored checksum the response carried: a whole-object
	// GET's, which the SDK has checked unless composite; none for a range.
	Checksum Checksum
	// OpaqueETag: the server reports SSE-KMS or SSE-C, whose ETag is not
	// the MD5 of the content.
	OpaqueETag bool
}

// S3Store is an ObjectStore on the AWS SDK for Go v2.
type S3Store struct {
	client *s3.Client
	idle   time.Duration // a body that yields nothing this long fails
	keyID  string        // access key ID in use, for credential errors
}

// NewS3Store builds the S3 client of cfg in region (spec §7, §11). The
// SDK's own retries are off (aws.NopRetryer): the engine's retry loop counts
// the attempts, and the SDK's shared retry token bucket cannot starve
// workers under load. It checks up front that credentials can be found,
// so a missing key fails the run once instead of every recording. The
// SDK's own log lines go through log (nil: discarded), never straight to
// stderr, so that a JSON log stays all JSON.
func NewS3Store(ctx context.Context, cfg *config.Config, region string, parallel int, log *slog.Logger) (*S3Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithLogger(sdkLogger{log}),
		awsconfig.WithRegion(region),
		awsconfig.WithHTTPClient(s3HTTPClient(cfg, parallel)),
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if cfg.AWSAccessKeyID != "" && cfg.AWSSecretAccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey.Reveal(), cfg.AWSSessionToken.Reveal())))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	creds, err := awsCfg.Credentials.Retrieve(ctx)
	if err != nil && cfg.AWSAccessKeyID == "" {
		return nil, &MissingCredentialsError{Vars: "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", Service: "S3", Err: err,
			Detail: "no other source of the AWS credential chain (shared config or profile, web identity, instance role) gave any"}
	}
	if err != nil {
		return nil, fmt.Errorf("no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile/role): %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.AWSEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.AWSEndpoint)
			o.UsePathStyle = true
		}
		// S3-compatible stores send no checksum; the SDK would log it on every GET.
		o.DisableLogOutputChecksumValidationSkipped = true
		if !cfg.UsePayloadSigning {
			o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		}
	})
	return &S3Store{client: client, idle: cfg.RequestTimeout, keyID: creds.AccessKeyID}, nil
}

// s3HTTPClient is the SDK's buildable client (a plain *http.Client breaks
// the loader when AWS_CA_BUNDLE is set) with keep-alive connections for
// every worker and part, and the configured proxy.
func s3HTTPClient(cfg *config.Config, parallel int) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(parallel, 100)
		t.MaxIdleConnsPerHost = max(parallel, 2*cfg.NumThreads)
		if cfg.RequestTimeout > 0 {
			t.ResponseHeaderTimeout = cfg.RequestTimeout
		}
		if cfg.AWSProxyHost != "" {
			proxy := &url.URL{Scheme: "http", Host: net.JoinHostPort(cfg.AWSProxyHost, strconv.Itoa(cfg.AWSProxyPort))}
			t.Proxy = http.ProxyURL(proxy)
		}
	})
}

// Get opens the object. The request's context lives as long as the body:
// it is cancelled when the body is closed, or when no byte arrives for
// requestTimeout (a whole-request timeout would kill large downloads).
func (s *S3Store) Get(ctx context.Context, in GetInput) (*Object, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	// Checksum mode asks for the stored checksum, which the SDK then checks
	// on the read that reaches the end of a whole-object body.
	req := &s3.GetObjectInput{Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), ChecksumMode: types.ChecksumModeEnabled}
	if r := rangeHeader(in.Offset, in.Length); r != "" {
		req.Range = aws.String(r)
	}
	if in.IfMatch != "" {
		req.IfMatch = aws.String(in.IfMatch)
	}
	out, err := s.client.GetObject(ctx, req)
	if err != nil {
		cancel(nil)
		return nil, s.wrap(in, err)
	}
	obj := &Object{Length: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag),
		Checksum:   pickChecksum(out.ChecksumCRC32C, out.ChecksumCRC32, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256),
		OpaqueETag: opaqueETag(out.ServerSideEncryption, out.SSECustomerAlgorithm)}
	obj.Size = obj.Length
	if total, ok := rangeTotal(aws.ToString(out.ContentRange)); ok {
		obj.Size = total
	}
	obj.Body = newIdleBody(out.Body, s.idle, cancel)
	return obj, nil
}

// Head describes the object (part 0) or one of its upload parts (part ≥
// 1: Length is that part's size) without its body, with the stored
// checksum (checksum mode). A ranged download asks it for the checksum
// that range responses do not carry.
func (s *S3Store) Head(ctx context.Context, in GetInput, part int) (*Object, error) {
	req := &s3.HeadObjectInput{Bucket: aws.String(in.Bucket), Key: aws.String(in.Key), ChecksumMode: types.ChecksumModeEnabled}
	if in.IfMatch != "" {
		req.IfMatch = aws.String(in.IfMatch)
	}
	if part > 0 {
		req.PartNumber = aws.Int32(int32(part))
	}
	out, err := s.client.HeadObject(ctx, req)
	if err != nil {
		return nil, s.wrap(in, err)
	}
	obj := &Object{Length: aws.ToInt64(out.ContentLength), ETag: aws.ToString(out.ETag),
		Checksum:   pickChecksum(out.ChecksumCRC32C, out.ChecksumCRC32, out.ChecksumCRC64NVME, out.ChecksumSHA1, out.ChecksumSHA256),
		OpaqueETag: opaqueETag(out.ServerSideEncryption, out.SSECustomerAlgorithm)}
	obj.Size = obj.Length
	return obj, nil
}

// pickChecksum takes the first checksum present, cheapest to compute
// first (hash/crc32 uses the CPU's CRC instructions; hash/crc64 has none):
// CRC32C, CRC32, CRC64NVME, SHA1, SHA256.
func pickChecksum(crc32c, crc32, crc64nvme, sha1, sha256 *string) Checksum {
	for i, v := range []*string{crc32c, crc32, crc64nvme, sha1, sha256} {
		if c := parseChecksum([]string{"CRC32C", "CRC32", "CRC64NVME", "SHA1", "SHA256"}[i], aws.ToString(v)); c.Value != "" {
			return c
		}
	}
	return Checksum{}
}

// opaqueETag: SSE-KMS (and DSSE-KMS) and SSE-C objects have an ETag that
// is not the MD5 of their content.
func opaqueETag(sse types.ServerSideEncryption, customerAlg *string) bool {
	return strings.HasPrefix(string(sse), "aws:kms") || aws.ToString(customerAlg) != ""
}

// sdkLogger writes the AWS SDK's log lines (e.g. "falling back to
// IMDSv1") through the run's logger instead of the SDK's own plain-text
// lines on stderr.
type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	level := slog.LevelInfo
	switch c {
	case logging.Warn:
		level = slog.LevelWarn
	case logging.Debug:
		level = slog.LevelDebug
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...), "source", "aws-sdk")
}

// S3Error is an error answer of S3, told in one line: status, code and
// message (the SDK's own text repeats the operation, host id and more).
type S3Error struct {
	Bucket, Key   string
	Status        int
	Code, Message string
	RequestID     string
	Err           error
}

func (e *S3Error) Error() string {
	s := fmt.Sprintf("s3://%s/%s: HTTP %d", e.Bucket, e.Key, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

func (e *S3Error) Unwrap() error       { return e.Err }
func (e *S3Error) HTTPStatusCode() int { return e.Status }

// S3AuthError is S3 refusing the credentials themselves: every request
// would fail the same way, so the run stops at once (exit 1).
type S3AuthError struct {
	KeyID string
	Err   *S3Error
}

func (e *S3AuthError) Error() string {
	return fmt.Sprintf("S3 refused the credentials of access key %s: %s", e.KeyID, e.Err.Code)
}

func (e *S3AuthError) Unwrap() error { return e.Err }

// credentialCodes are the S3 error codes that condemn the credentials
// rather than one object (AccessDenied may be one object's policy).
var credentialCodes = map[string]bool{
	"InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"ExpiredToken": true, "InvalidToken": true, "TokenRefreshRequired": true,
}

// wrap turns an SDK error into an S3Error (or S3AuthError) when S3
// answered; network errors keep their chain with the object named.
func (s *S3Store) wrap(in GetInput, err error) error {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return fmt.Errorf("get s3://%s/%s: %w", in.Bucket, in.Key, err)
	}
	se := &S3Error{Bucket: in.Bucket, Key: in.Key, Status: re.HTTPStatusCode(), RequestID: re.ServiceRequestID(), Err: err}
	var api smithy.APIError
	if errors.As(err, &api) {
		se.Code, se.Message = api.ErrorCode(), api.ErrorMessage()
	}
	if credentialCodes[se.Code] {
		return &S3AuthError{KeyID: s.keyID, Err: se}
	}
	return se
}

func rangeHeader(off, n int64) string {
	switch {
	case n > 0:
		return fmt.Sprintf("bytes=%d-%d", off, off+n-1)
	case off > 0:
		return fmt.Sprintf("bytes=%d-", off)
	}
	return ""
}

// rangeTotal reads the object size from "bytes 0-99/1234".
func rangeTotal(cr string) (int64, bool) {
	i := strings.LastIndexByte(cr, '/')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(cr[i+1:], 10, 64)
	return n, err == nil
}

// errIdle is the cause when a body stalls for longer than requestTimeout.
var errIdle = errors.New("no data received within requestTimeout")

// idleBody cancels its request when no Read returns data for idle.
type idleBody struct {
	rc     io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	cancel context.CancelCauseFunc
	once   sync.Once
}

func newIdleBody(rc io.ReadCloser, idle time.Duration, cancel context.CancelCauseFunc) io.ReadCloser {
	b := &idleBody{rc: rc, idle: idle, cancel: cancel}
	if idle > 0 {
		b.timer = time.AfterFunc(idle, func() { cancel(errIdle) })
	}
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 && b.timer != nil {
		b.timer.Reset(b.idle)
	}
	return n, err
}

func (b *idleBody) Close() error {
	err := b.rc.Close()
	b.once.Do(func() {
		if b.timer != nil {
			b.timer.Stop()
		}
		b.cancel(nil)
	})
	return err
}

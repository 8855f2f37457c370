package cloudsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// TestS3ChecksCredentials: the simulator's S3 accepts only the keys it
// prints, in every form the SDK signs (UNSIGNED-PAYLOAD as rcbs sends by
// default, a signed payload, a presigned URL), and refuses the others with
// real S3's error codes.
func TestS3ChecksCredentials(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 2, Seed: 3}))
	ctx := context.Background()
	m := c.Recordings()[0].Media[0]
	if m.Key == "" {
		t.Fatal("seed 3's first media is not in S3; pick another seed")
	}
	unsigned := s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	for _, tc := range []struct {
		name, access, secret string
		opts                 []func(*s3.Options)
		want                 string // "" = accepted
	}{
		{"right keys, signed payload", simAccessKey, simSecretKey, nil, ""},
		{"right keys, UNSIGNED-PAYLOAD", simAccessKey, simSecretKey, []func(*s3.Options){unsigned}, ""},
		{"wrong secret", simAccessKey, "wrong-secret", nil, "SignatureDoesNotMatch"},
		{"wrong secret, UNSIGNED-PAYLOAD", simAccessKey, "wrong-secret", []func(*s3.Options){unsigned}, "SignatureDoesNotMatch"},
		{"unknown access key", "AKIAUNKNOWN", simSecretKey, nil, "InvalidAccessKeyId"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := newS3Client(c.S3URL(), "us-east-1", tc.access, tc.secret)
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &m.Bucket, Key: &m.Key}, tc.opts...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("GetObject: %v", err)
				}
				b, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if sha256.Sum256(b) != m.SHA256 {
					t.Fatal("bytes differ")
				}
				return
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.want {
				t.Fatalf("GetObject: %v, want %s", err, tc.want)
			}
			var status interface{ HTTPStatusCode() int }
			if !errors.As(err, &status) || status.HTTPStatusCode() != http.StatusForbidden {
				t.Fatalf("GetObject: %v, want status 403", err)
			}
			_, err = client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &m.Bucket})
			if !errors.As(err, &api) || api.ErrorCode() != tc.want {
				t.Fatalf("ListObjectsV2: %v, want %s", err, tc.want)
			}
		})
	}

	t.Run("keys chosen in Options", func(t *testing.T) {
		own := startCloud(t, plain(Options{Recordings: 1, Seed: 3, AccessKey: "AKIDOWN", SecretKey: "own-secret"}))
		if env := strings.Join(own.Env(), " "); !strings.Contains(env, "AWS_ACCESS_KEY_ID=AKIDOWN") || !strings.Contains(env, "AWS_SECRET_ACCESS_KEY=own-secret") {
			t.Fatalf("Env does not print the chosen keys: %s", env)
		}
		om := own.Recordings()[0].Media[0]
		for _, tc := range []struct{ access, secret, want string }{
			{"AKIDOWN", "own-secret", ""},
			{simAccessKey, simSecretKey, "InvalidAccessKeyId"},
			{"AKIDOWN", simSecretKey, "SignatureDoesNotMatch"},
		} {
			_, err := newS3Client(own.S3URL(), "us-east-1", tc.access, tc.secret).HeadObject(ctx, &s3.HeadObjectInput{Bucket: &om.Bucket, Key: &om.Key})
			var status interface{ HTTPStatusCode() int }
			if (err == nil) != (tc.want == "") || (err != nil && (!errors.As(err, &status) || status.HTTPStatusCode() != http.StatusForbidden)) {
				t.Errorf("%s/%s: HeadObject %v, want %q", tc.access, tc.secret, err, tc.want)
			}
		}
	})

	t.Run("put with a signed payload", func(t *testing.T) {
		client := newS3Client(c.S3URL(), "us-east-1", simAccessKey, simSecretKey)
		body := []byte("a key with spaces and ~ (odd) chars")
		key := "odd dir/a+b ~(1).txt"
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &m.Bucket, Key: &key, Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		if got := getObject(t, client, m.Bucket, key, ""); !bytes.Equal(got, body) {
			t.Fatalf("read back %q", got)
		}
	})

	t.Run("presigned URL", func(t *testing.T) {
		for _, secret := range []string{simSecretKey, "wrong-secret"} {
			pre := s3.NewPresignClient(newS3Client(c.S3URL(), "us-east-1", simAccessKey, secret))
			req, err := pre.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &m.Bucket, Key: &m.Key})
			if err != nil {
				t.Fatal(err)
			}
			resp, body, err := fetch(req.URL)
			if err != nil {
				t.Fatal(err)
			}
			ok := resp.StatusCode == http.StatusOK && sha256.Sum256(body) == m.SHA256
			if ok != (secret == simSecretKey) {
				t.Fatalf("secret %s: %d %.200q", secret, resp.StatusCode, body)
			}
		}
	})

	t.Run("anonymous and skewed", func(t *testing.T) {
		url := c.S3URL() + "/" + m.Bucket + "/" + m.Key
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if status, body := doAsIs(t, req); status != http.StatusForbidden || !strings.Contains(string(body), "<Code>AccessDenied</Code>") {
			t.Fatalf("unsigned GET: %d %.200q", status, body)
		}
		req, _ = http.NewRequest(http.MethodGet, url, nil)
		if err := signV4(req, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if status, body := doAsIs(t, req); status != http.StatusForbidden || !strings.Contains(string(body), "RequestTimeTooSkewed") {
			t.Fatalf("an hour old signature: %d %.200q", status, body)
		}
	})
}

// doAsIs sends req as it is (noReuse would sign it) and returns the
// status and body.
func doAsIs(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// signV4 signs req with the simulator's default keys as of at, with an
// UNSIGNED-PAYLOAD as rcbs sends by default.
func signV4(req *http.Request, at time.Time) error {
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	creds := aws.Credentials{AccessKeyID: simAccessKey, SecretAccessKey: simSecretKey}
	return s3Signer().SignHTTP(req.Context(), creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", at)
}

// TestSigV4Times: a header signature is good within 15 minutes either side
// of the server's clock; a presigned URL until it expires, however old.
func TestSigV4Times(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	creds := aws.Credentials{AccessKeyID: simAccessKey, SecretAccessKey: simSecretKey}
	// Query names where "name=value" order and name order differ (a-b, a).
	const target = "http://127.0.0.1:9000/bucket/some%20key.mp3?a-b=1&a=2&x=%20y"
	header := httptest.NewRequest(http.MethodGet, target, nil)
	if err := signV4(header, at); err != nil {
		t.Fatal(err)
	}
	presigned := httptest.NewRequest(http.MethodGet, target, nil)
	q := presigned.URL.Query()
	q.Set("X-Amz-Expires", "3600")
	presigned.URL.RawQuery = q.Encode()
	signedURL, _, err := s3Signer().PresignHTTP(context.Background(), creds, presigned, "UNSIGNED-PAYLOAD", "s3", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	presigned = httptest.NewRequest(http.MethodGet, signedURL, nil)
	for _, tc := range []struct {
		name  string
		req   *http.Request
		after time.Duration
		want  string
	}{
		{"header, now", header, 0, ""},
		{"header, 14 min later", header, 14 * time.Minute, ""},
		{"header, 16 min later", header, 16 * time.Minute, "RequestTimeTooSkewed"},
		{"header, 16 min early", header, -16 * time.Minute, "RequestTimeTooSkewed"},
		{"presigned, 59 min later", presigned, 59 * time.Minute, ""},
		{"presigned, 61 min later", presigned, 61 * time.Minute, "AccessDenied"},
		{"presigned, 16 min early", presigned, -16 * time.Minute, "RequestTimeTooSkewed"},
	} {
		v := sigV4{access: simAccessKey, secret: simSecretKey, now: func() time.Time { return at.Add(tc.after) }}
		got := ""
		if err := v.check(tc.req); err != nil {
			got = err.code
		}
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// s3Signer signs as S3 clients do: the path escaped once, not twice.
func s3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

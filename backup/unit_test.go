package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rcbs/rcbs/config"
	"github.com/rcbs/rcbs/internal/retry"
	"github.com/rcbs/rcbs/metadata"
)

func TestLooksLikeCMS(t *testing.T) {
	env := oidEnvelopedData
	auth := oidAuthEnvelopedData
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"DER long form 2", cat([]byte{0x30, 0x82, 0x01, 0x00}, env), true},
		{"DER long form 4", cat([]byte{0x30, 0x84, 0, 0, 1, 0}, env), true},
		{"DER short form", cat([]byte{0x30, 0x40}, env), true},
		{"BER indefinite", cat([]byte{0x30, 0x80}, env), true},
		{"authEnvelopedData", cat([]byte{0x30, 0x82, 0x01, 0x00}, auth), true},
		{"signedData", cat([]byte{0x30, 0x82, 0x01, 0x00}, []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02}), false},
		{"MP3", []byte("ID3\x04\x00\x00\x00\x00\x00"), false},
		{"MP4", []byte("\x00\x00\x00\x18ftypmp42"), false},
		{"empty", nil, false},
		{"truncated length", []byte{0x30, 0x84, 0}, false},
		{"five length bytes", cat([]byte{0x30, 0x85, 0, 0, 0, 1, 0}, env), false},
	}
	for _, tt := range tests {
		if got := looksLikeCMS(tt.head); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

type statusErr int

func (s statusErr) Error() string       { return fmt.Sprintf("status %d", int(s)) }
func (s statusErr) HTTPStatusCode() int { return int(s) }

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"S3 503 SlowDown", fmt.Errorf("get: %w", statusErr(503)), true},
		{"S3 500", statusErr(500), true},
		{"S3 429", statusErr(429), true},
		{"S3 412 object changed", statusErr(412), true},
		{"S3 404", fmt.Errorf("get: %w", statusErr(404)), false},
		{"S3 403", statusErr(403), false},
		{"API 404", &metadata.HTTPError{Status: 404}, false},
		{"API 502", &metadata.HTTPError{Status: 502}, true},
		{"API auth", &metadata.AuthError{User: "u", Status: 401}, false},
		{"API refused URL", fmt.Errorf("media: %w", &metadata.RefusedError{Reason: "mediaUri points to another host"}), false},
		{"disk full", &FileError{Op: "write", Path: "x", Err: syscall.ENOSPC}, false},
		{"read-only", &FileError{Op: "write", Path: "x", Err: syscall.EROFS}, false},
		{"permission", &FileError{Op: "create", Path: "x", Err: fs.ErrPermission}, false},
		{"invalid id", fmt.Errorf("%w: id", errInvalid), false},
		{"no bucket", fmt.Errorf("x: %w", errPermanent), false},
		{"short body", fmt.Errorf("x: %w", errSize), true},
		{"connection reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"stalled body", context.Canceled, true},
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("%s: retryable %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A media retry waits what the server asked (API or S3), up to
// MaxBackoff; else a full-jitter pick under the doubling ceiling.
func TestRetryDelay(t *testing.T) {
	e := &engine{cfg: &config.Config{Retries: 9}, tun: Tuning{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}}
	s3Busy := &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
		Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"0.4"}}}},
		Err:      errors.New("SlowDown")}}
	for _, tt := range []struct {
		name string
		err  error
		want time.Duration
	}{
		{"API Retry-After", fmt.Errorf("media m: %w", &retry.Error{Err: errors.New("HTTP 429"), After: 300 * time.Millisecond}), 300 * time.Millisecond},
		{"API Retry-After over the cap", &retry.Error{Err: errors.New("HTTP 429"), After: time.Hour}, time.Second},
		{"S3 Retry-After", fmt.Errorf("get s3://b/k: %w", s3Busy), 400 * time.Millisecond},
	} {
		if got := e.retryDelay(1, tt.err); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	for attempt := 1; attempt <= 8; attempt++ {
		ceiling := min(100*time.Millisecond<<(attempt-1), time.Second)
		low := false
		for range 100 {
			d := e.retryDelay(attempt, errors.New("connection reset"))
			if d < 0 || d > ceiling {
				t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, ceiling)
			}
			low = low || d < ceiling/2
		}
		if !low {
			t.Errorf("attempt %d: never below half the ceiling in 100 picks: not full jitter", attempt)
		}
	}
}

func TestRangeHelpers(t *testing.T) {
	for _, tt := range []struct {
		off, n int64
		want   string
	}{{0, 0, ""}, {0, 10, "bytes=0-9"}, {100, 50, "bytes=100-149"}, {7, 0, "bytes=7-"}} {
		if got := rangeHeader(tt.off, tt.n); got != tt.want {
			t.Errorf("rangeHeader(%d, %d) = %q, want %q", tt.off, tt.n, got, tt.want)
		}
	}
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{{"bytes 0-99/1234", 1234, true}, {"bytes */55", 55, true}, {"", 0, false}, {"bytes 0-1/*", 0, false}} {
		got, ok := rangeTotal(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("rangeTotal(%q) = %d, %v", tt.in, got, ok)
		}
	}
}

// blockingBody never yields data until closed.
type blockingBody struct{ closed chan struct{} }

func (b *blockingBody) Read([]byte) (int, error) { <-b.closed; return 0, io.ErrClosedPipe }
func (b *blockingBody) Close() error             { close(b.closed); return nil }

func TestIdleBodyCancelsAStalledRequest(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	body := newIdleBody(&blockingBody{closed: make(chan struct{})}, 20*time.Millisecond, cancel)
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), errIdle) {
		t.Errorf("cause %v, want errIdle", context.Cause(ctx))
	}
	body.Close()
}

func TestRemoveTemps(t *testing.T) {
	root := t.TempDir()
	files := []string{
		"a/b/" + TempPrefix + "1",
		TempPrefix + "2",
		"a/" + TempPrefix + "3", // fresh: a crash a second ago is a crash too
		"a/b/rec.bin",
		"a/.rcbs-lock-not-a-temp",
	}
	for _, rel := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, nil, 0o600)
	}
	n, err := removeTemps(root)
	if err != nil || n != 3 {
		t.Errorf("removed %d, %v; want 3", n, err)
	}
	for _, rel := range files {
		_, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
		gone := os.IsNotExist(err)
		if want := strings.Contains(rel, TempPrefix); gone != want {
			t.Errorf("%s removed=%v, want %v", rel, gone, want)
		}
	}
}

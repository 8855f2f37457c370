package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// recordingHandler serves S3 and notes each request's payload hash header
// and whether it came through a proxy (absolute request URI).
type recordingHandler struct {
	inner   http.Handler
	mu      sync.Mutex
	hashes  []string
	proxied int
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.hashes = append(h.hashes, r.Header.Get("X-Amz-Content-Sha256"))
	if strings.HasPrefix(r.RequestURI, "http://") {
		h.proxied++
	}
	h.mu.Unlock()
	h.inner.ServeHTTP(w, r)
}

func TestS3StorePayloadSigningAndProxy(t *testing.T) {
	const emptySHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	tests := []struct {
		name    string
		signing string
		proxy   bool
		hash    string
	}{
		{"unsigned by default", "false", false, "UNSIGNED-PAYLOAD"},
		{"signed payload", "true", false, emptySHA},
		{"through the aws proxy", "false", true, "UNSIGNED-PAYLOAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend := s3mem.New()
			backend.CreateBucket(testBucket)
			backend.PutObject(testBucket, "k", nil, strings.NewReader("0123456789"), 10, nil)
			h := &recordingHandler{inner: gofakes3.New(backend).Server()}
			srv := httptest.NewServer(h)
			defer srv.Close()
			w := newWorld(t)
			w.extra = "usePayloadSigning=" + tt.signing + "\n"
			cfg := w.config()
			cfg.AWSEndpoint = srv.URL
			if tt.proxy {
				// The proxy is the same server: an absolute request URI proves the way.
				cfg.AWSEndpoint = "http://s3.invalid.example"
				cfg.AWSProxyHost, cfg.AWSProxyPort = "127.0.0.1", srv.Listener.Addr().(*net.TCPAddr).Port
			}
			s, err := NewS3Store(context.Background(), cfg, "us-east-1", 4, nil)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := s.Get(context.Background(), GetInput{Bucket: testBucket, Key: "k", Offset: 2, Length: 3})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(obj.Body)
			obj.Body.Close()
			if string(body) != "234" || obj.Size != 10 || obj.Length != 3 || obj.ETag == "" {
				t.Errorf("got %q size %d length %d etag %q", body, obj.Size, obj.Length, obj.ETag)
			}
			if len(h.hashes) != 1 || h.hashes[0] != tt.hash {
				t.Errorf("payload hash headers %q, want [%q]", h.hashes, tt.hash)
			}
			if tt.proxy != (h.proxied == 1) {
				t.Errorf("proxied requests: %d", h.proxied)
			}
		})
	}
}

func TestS3StoreWithoutCredentials(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	w := newWorld(t)
	w.addRecording("REC", day(1, 1), media{id: "a.mp3", typ: "audio/mp3", data: blob(1, 10)})
	cfg := w.config()
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "", ""
	_, err := Run(context.Background(), cfg, w.deps())
	var missing *MissingCredentialsError
	if !errors.As(err, &missing) || !strings.HasPrefix(err.Error(), "config: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: not set, and S3 requires them") {
		t.Errorf("err %v, want the missing AWS_ACCESS_KEY_ID named (spec §9)", err)
	}
}

// slowDownHandler answers 503 SlowDown to the first n GETs of every key.
type slowDownHandler struct {
	inner http.Handler
	n     int
	mu    sync.Mutex
	seen  map[string]int
}

func (h *slowDownHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.seen[r.URL.Path]++
	k := h.seen[r.URL.Path]
	h.mu.Unlock()
	if r.Method == http.MethodGet && k <= h.n {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
		return
	}
	h.inner.ServeHTTP(w, r)
}

// TestSlowDownUnderManyWorkers: every object answers 503 SlowDown twice.
// With 16 workers, the engine's own retry loop (not the SDK's shared token
// bucket, which can run dry under load) must get every object on its third
// attempt.
func TestSlowDownUnderManyWorkers(t *testing.T) {
	w := newWorld(t)
	h := &slowDownHandler{inner: gofakes3.New(w.backend).Server(), n: 2, seen: map[string]int{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	want := map[string][]byte{}
	for i := range 40 {
		id := fmt.Sprintf("REC%02d", i)
		data := blob(byte(i), 2000+i)
		w.addRecording(id, day(1+i%3, i%24), media{id: id + ".mp3", typ: "audio/mp3", data: data})
		want[fmt.Sprintf("2018/01/%02d/%02d/%s/%s.mp3.bin", 1+i%3, i%24, id, id)] = data
	}
	w.extra = "numThreads=16\nretries=3\n"
	cfg := w.config()
	cfg.AWSEndpoint = srv.URL
	sum, err := Run(context.Background(), cfg, w.deps())
	if err != nil || sum.Downloaded != 40 {
		t.Fatalf("%+v, %v", sum, err)
	}
	checkMedia(t, w.target, want)
	for path, n := range h.seen {
		if n != 3 {
			t.Errorf("%s: %d requests, want 3", path, n)
		}
	}
}

// TestRefusedCredentialsStopTheRun: S3 refusing the signature fails every
// request alike, so the run stops at once with one error naming the key ID.
func TestRefusedCredentialsStopTheRun(t *testing.T) {
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message></Error>`)
	}))
	defer srv.Close()
	w := newWorld(t)
	for i := range 30 {
		id := fmt.Sprintf("REC%02d", i)
		w.addRecording(id, day(1+i%3, 1), media{id: id + ".mp3", typ: "audio/mp3", data: blob(1, 10)})
	}
	cfg := w.config()
	cfg.AWSEndpoint = srv.URL
	_, err := Run(context.Background(), cfg, w.deps())
	var ae *S3AuthError
	if !errors.As(err, &ae) || ae.KeyID != testKeyID || errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want S3AuthError naming %s", err, testKeyID)
	}
	if !strings.Contains(err.Error(), "S3 refused the credentials of access key "+testKeyID+": SignatureDoesNotMatch") ||
		strings.Contains(err.Error(), testSecret) {
		t.Errorf("message %q", err)
	}
	if n, window := gets.Load(), int64(2*cfg.NumThreads); n > window { // the flow's starting window (flow.go)
		t.Errorf("%d requests after the credentials were refused, want at most one per recording in flight (%d)", n, window)
	}
	if got := readState(t, w.target); got != "" {
		t.Errorf("state %q written", got)
	}
}

func TestS3ErrorIsOneLine(t *testing.T) {
	w := newWorld(t)
	s := w.store(w.config())
	_, err := s.Get(context.Background(), GetInput{Bucket: testBucket, Key: "missing"})
	var se *S3Error
	if !errors.As(err, &se) || se.Status != 404 || se.Code != "NoSuchKey" || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err %v", err)
	}
	if !strings.HasPrefix(err.Error(), "s3://recordings/missing: HTTP 404 NoSuchKey") {
		t.Errorf("message %q", err)
	}
}

// The SDK's own log lines (here its IMDSv1 fallback warning, a real one:
// the instance metadata service refuses the IMDSv2 token) go through the
// run's logger, so that a JSON log stays all JSON (spec §9, logFormat).
func TestSDKLogsThroughTheRunLogger(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut: // the IMDSv2 token
			http.Error(w, "forbidden", http.StatusForbidden)
		case strings.HasSuffix(r.URL.Path, "/"): // the role list
			io.WriteString(w, "rcbs-role")
		default:
			io.WriteString(w, `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"AKIDIMDS","SecretAccessKey":"s","Token":"t","Expiration":"2099-01-01T00:00:00Z"}`)
		}
	}))
	defer imds.Close()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_EC2_METADATA_V1_DISABLED"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	w := newWorld(t)
	cfg := w.config()
	cfg.AWSAccessKeyID, cfg.AWSSecretAccessKey = "", ""
	var logs bytes.Buffer
	s, err := NewS3Store(context.Background(), cfg, "us-east-1", 4, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if s.keyID != "AKIDIMDS" {
		t.Fatalf("credentials of %q, not the fake instance's", s.keyID)
	}
	var warned bool
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct{ Level, Msg, Source string }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON line: %q", line)
		}
		warned = warned || (rec.Level == "WARN" && strings.Contains(rec.Msg, "falling back to IMDSv1") && rec.Source == "aws-sdk")
	}
	if !warned {
		t.Errorf("no JSON warning of the IMDSv1 fallback in:\n%s", logs.String())
	}
}

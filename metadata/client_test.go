package metadata

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rcbs/rcbs/internal/retry"
)

func TestNewClientRejects(t *testing.T) {
	tests := []struct{ name, prefix, want string }{
		{"empty", "", "empty"},
		{"credentials", "https://bob:" + testPass + "@example.com/api/v2", "must not contain credentials"},
		{"scheme", "ftp://example.com/api", "http:// or https://"},
		{"no host", "https:///api", "with a host"},
		{"relative", "example.com/api/v2", "http:// or https://"},
		{"query", "https://example.com/api?x=1", "query"},
		{"bad escape", "https://example.com/%zz", "not a URL"},
	}
	for _, tt := range tests {
		_, err := NewClient(Options{Prefix: tt.prefix, Password: testPass})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
		noSecret(t, err)
	}
}

// apiServer serves one handler under the test credentials' check and counts
// requests.
func apiServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass || r.Header.Get("Accept") != "application/json" {
			writeJSON(w, 401, `{"statusCode":401,"statusMessage":"no"}`)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func testClient(t *testing.T, prefix string) *Client {
	t.Helper()
	c, err := NewClient(Options{Prefix: prefix, Username: testUser, Password: testPass,
		Attempts: 3, BaseBackoff: time.Microsecond, MaxBackoff: time.Millisecond, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name     string
		answers  []string // "status body" per request; the last repeats
		want     Settings
		wantErr  string
		requests int32
	}{
		{"object", []string{`200 {"statusCode":0,"settings":{"awsRegion":"eu-west-1","s3Bucket":"name"}}`},
			Settings{"eu-west-1", "name"}, "", 1},
		{"partial", []string{`200 {"statusCode":0,"settings":{"s3Bucket":"b"}}`}, Settings{S3Bucket: "b"}, "", 1},
		{"name/value list", []string{`200 {"statusCode":0,"settings":[{"name":"awsRegion","value":"ap-south-1"}]}`},
			Settings{AWSRegion: "ap-south-1"}, "", 1},
		{"404 means none", []string{`404 {"statusCode":404,"statusMessage":"not found"}`}, Settings{}, "", 1},
		{"503 then ok", []string{`503 {}`, `200 {"statusCode":0,"settings":{"awsRegion":"r"}}`}, Settings{AWSRegion: "r"}, "", 2},
		{"statusCode", []string{`200 {"statusCode":3,"statusMessage":"settings unavailable"}`}, Settings{}, "settings unavailable", 1},
		{"500 always", []string{`500 {"statusCode":1,"statusMessage":"boom"}`}, Settings{}, "boom", 3},
		{"400", []string{`400 {"statusCode":2,"statusMessage":"bad request"}`}, Settings{}, "HTTP 400", 1},
		{"garbage retried", []string{`200 {"statusCode":0,"sett`}, Settings{}, "decode settings", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answered atomic.Int32
			srv, n := apiServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v2/me/settings/rcbs" {
					http.NotFound(w, r)
					return
				}
				a := tt.answers[min(int(answered.Add(1))-1, len(tt.answers)-1)]
				var status int
				_, _ = fmt.Sscanf(a, "%d", &status)
				writeJSON(w, status, a[4:])
			})
			s, err := testClient(t, srv.URL+"/api/v2/").Settings(t.Context()) // trailing "/" dropped
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
			if s != tt.want || n.Load() != tt.requests {
				t.Errorf("got %+v after %d requests, want %+v after %d", s, n.Load(), tt.want, tt.requests)
			}
		})
	}
}

func TestSettingsAuth(t *testing.T) {
	srv, n := apiServer(t, func(w http.ResponseWriter, r *http.Request) {})
	c, err := NewClient(Options{Prefix: srv.URL, Username: "mallory", Password: testPass})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Settings(t.Context())
	var ae *AuthError
	if !errors.As(err, &ae) || ae.User != "mallory" || n.Load() != 1 {
		t.Fatalf("got %v after %d requests, want an AuthError at once", err, n.Load())
	}
	noSecret(t, err)
}

func TestMedia(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	defer other.Close()
	fails := map[string]int{"/api/v2/flaky": 2}
	var mu = make(chan struct{}, 1)
	srv, n := apiServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu <- struct{}{}
		left := fails[r.URL.Path]
		fails[r.URL.Path]--
		<-mu
		switch {
		case left > 0:
			writeJSON(w, 503, `{}`)
		case r.URL.Path == "/api/v2/gone":
			writeJSON(w, 404, `{"statusCode":404,"statusMessage":"no such media"}`)
		default:
			_, _ = io.WriteString(w, "bytes of "+r.URL.Path)
		}
	})
	prefix := srv.URL + "/api/v2"
	tests := []struct {
		name     string
		m        MediaFile
		want     string // body, or the error's text
		requests int32
	}{
		{"mediaUri", MediaFile{MediaID: "a", MediaURI: prefix + "/rec/a"}, "bytes of /api/v2/rec/a", 1},
		{"mediaUri path", MediaFile{MediaID: "a", MediaURI: "/rec/b"}, "bytes of /api/v2/rec/b", 1},
		{"mediaPath", MediaFile{MediaID: "c", MediaPath: "/recordings/X/media/c"}, "bytes of /api/v2/recordings/X/media/c", 1},
		{"mediaPath without slash", MediaFile{MediaID: "c", MediaPath: "recordings/X/media/c"}, "bytes of /api/v2/recordings/X/media/c", 1},
		{"mediaPath looking like a host", MediaFile{MediaID: "c", MediaPath: "//evil.example/x"}, "bytes of /api/v2//evil.example/x", 1},
		{"mediaUri wins", MediaFile{MediaID: "d", MediaURI: prefix + "/u", MediaPath: "/p"}, "bytes of /api/v2/u", 1},
		{"one attempt: the engine retries", MediaFile{MediaID: "e", MediaPath: "/flaky"}, "error: HTTP 503", 1},
		{"404", MediaFile{MediaID: "f", MediaPath: "/gone"}, "error: HTTP 404 Not Found: no such media", 1},
		{"other host", MediaFile{MediaID: "g", MediaURI: other.URL + "/api/v2/rec/g"}, "error: another host", 0},
		{"nothing", MediaFile{MediaID: "h"}, "error: no awsS3 descriptor", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.Load()
			body, err := testClient(t, prefix).Media(t.Context(), tt.m)
			got := ""
			if err != nil {
				got = "error: " + err.Error()
				noSecret(t, err)
			} else {
				b, rerr := io.ReadAll(body)
				_ = body.Close()
				got = string(b)
				if rerr != nil {
					t.Fatal(rerr)
				}
			}
			if wantErr, isErr := strings.CutPrefix(tt.want, "error: "); isErr != (err != nil) || isErr && !strings.Contains(got, wantErr) || !isErr && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if r := n.Load() - before; r != tt.requests {
				t.Errorf("%d requests, want %d", r, tt.requests)
			}
		})
	}
	if otherHits.Load() != 0 {
		t.Errorf("another host got %d requests", otherHits.Load())
	}
}

func TestMediaTimeoutOnlyUntilHeaders(t *testing.T) {
	release := make(chan struct{})
	srv, _ := apiServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v2/stuck" {
			<-r.Context().Done() // never answers
			return
		}
		_, _ = io.WriteString(w, "head-")
		http.NewResponseController(w).Flush()
		<-release // the body stalls past the timeout
		_, _ = io.WriteString(w, "tail")
	})
	c, err := NewClient(Options{Prefix: srv.URL + "/api/v2", Username: testUser, Password: testPass,
		Timeout: 50 * time.Millisecond, Attempts: 2, BaseBackoff: time.Microsecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Media(t.Context(), MediaFile{MediaID: "s", MediaPath: "/stuck"})
	if err == nil || !strings.Contains(err.Error(), "no response headers within") {
		t.Fatalf("got %v, want a headers timeout", err)
	}
	body, err := c.Media(t.Context(), MediaFile{MediaID: "slow", MediaPath: "/slow"})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	head := make([]byte, 5)
	if _, err := io.ReadFull(body, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * c.opts.Timeout) // longer than Timeout: the body must survive it
	close(release)
	rest, err := io.ReadAll(body)
	if err != nil || string(head)+string(rest) != "head-tail" {
		t.Errorf("body %q, %v; want head-tail", string(head)+string(rest), err)
	}
}

func TestRedirectElsewhereDropsCredentials(t *testing.T) {
	var gotAuth atomic.Value
	gotAuth.Store("unset")
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "media")
	}))
	defer elsewhere.Close()
	srv, _ := apiServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/signed", http.StatusFound)
	})
	body, err := testClient(t, srv.URL).Media(t.Context(), MediaFile{MediaID: "m", MediaPath: "/m"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	_ = body.Close()
	if string(b) != "media" || gotAuth.Load() != "" {
		t.Errorf("body %q, Authorization at the other host %q; want media and none", b, gotAuth.Load())
	}
}

func TestBadProxyURLNotShown(t *testing.T) {
	hc := NewHTTPClient("http://user:"+testPass+"@%zz:8080", time.Second)
	c, err := NewClient(Options{Prefix: "http://127.0.0.1:1/api", HTTPClient: hc, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Settings(t.Context())
	if err == nil || !strings.Contains(err.Error(), "gws proxy") {
		t.Fatalf("got %v, want a proxy error", err)
	}
	noSecret(t, err)
}

// TestStatusFromAnotherOrigin: a 401/403 is an *AuthError (the run stops)
// only when the API's own origin sent it. A media URL that redirects to
// another host gets that host's answer as an *HTTPError naming the host:
// one media file fails, the credentials were never shown there.
func TestStatusFromAnotherOrigin(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		writeJSON(w, status, `{"statusMessage":"signature expired"}`)
	}))
	defer elsewhere.Close()
	srv, _ := apiServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch rest := strings.TrimPrefix(r.URL.Path, "/api/v2"); {
		case strings.HasPrefix(rest, "/away/"):
			http.Redirect(w, r, elsewhere.URL+"/"+strings.TrimPrefix(rest, "/away/"), http.StatusFound)
		case strings.HasPrefix(rest, "/here/"):
			http.Redirect(w, r, "/api/v2/status/"+strings.TrimPrefix(rest, "/here/"), http.StatusFound)
		default:
			status, _ := strconv.Atoi(strings.TrimPrefix(rest, "/status/"))
			writeJSON(w, status, `{"statusMessage":"no"}`)
		}
	})
	elsewhereHost := strings.TrimPrefix(elsewhere.URL, "http://")
	tests := []struct {
		path     string
		wantAuth bool
		wantHost string // the HTTPError's Host when not an AuthError
	}{
		{"/status/401", true, ""},
		{"/status/403", true, ""},
		{"/here/403", true, ""}, // redirected, but within the API's origin
		{"/away/401", false, elsewhereHost},
		{"/away/403", false, elsewhereHost},
		{"/away/404", false, elsewhereHost},
		{"/status/404", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := testClient(t, srv.URL+"/api/v2").Media(t.Context(), MediaFile{MediaID: "m", MediaPath: tt.path})
			var ae *AuthError
			if errors.As(err, &ae) != tt.wantAuth {
				t.Fatalf("got %v; want an AuthError: %v", err, tt.wantAuth)
			}
			if tt.wantAuth {
				return
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Host != tt.wantHost {
				t.Fatalf("got %v, want an HTTPError from %q", err, tt.wantHost)
			}
			if tt.wantHost != "" && !strings.Contains(err.Error(), "from "+tt.wantHost) {
				t.Errorf("%q does not name the host that answered", err)
			}
		})
	}
}

// TestMediaRefusedIsPermanent: a media URL rcbs will not ask is refused
// without a request, as a *RefusedError (which callers' retry policies
// treat as permanent).
func TestMediaRefusedIsPermanent(t *testing.T) {
	srv, n := apiServer(t, func(w http.ResponseWriter, r *http.Request) {})
	prefix := srv.URL + "/api/v2"
	tests := []struct {
		name string
		m    MediaFile
		want string
	}{
		{"other host", MediaFile{MediaID: "a", MediaURI: "http://127.0.0.2:9/api/v2/a"}, "mediaUri points to another host"},
		{"other scheme", MediaFile{MediaID: "b", MediaURI: strings.Replace(prefix, "http:", "https:", 1) + "/b"}, "another host"},
		{"credentials in it", MediaFile{MediaID: "c", MediaURI: strings.Replace(prefix, "http://", "http://u:p@", 1) + "/c"}, "carries credentials"},
		{"not a URL", MediaFile{MediaID: "d", MediaURI: "http://[::1"}, "mediaUri is not a URL"},
		{"no source", MediaFile{MediaID: "e"}, "no awsS3 descriptor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := n.Load()
			_, err := testClient(t, prefix).Media(t.Context(), tt.m)
			var re *RefusedError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want a permanent refusal with %q", err, tt.want)
			}
			if got := n.Load() - before; got != 0 {
				t.Errorf("%d requests, want none", got)
			}
		})
	}
}

// Media makes one request, whatever the answer: the engine owns the
// retries of media. A 429 comes back marked retryable with its
// Retry-After; a 403 is refused credentials, not retryable.
func TestMediaSingleAttempt(t *testing.T) {
	srv, n := apiServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2/busy":
			w.Header().Set("Retry-After", "7")
			writeJSON(w, 429, `{}`)
		default:
			writeJSON(w, 403, `{}`)
		}
	})
	c := testClient(t, srv.URL+"/api/v2")
	_, err := c.Media(t.Context(), MediaFile{MediaID: "b", MediaPath: "/busy"})
	if n.Load() != 1 || !retry.Retryable(err) || retry.AfterOf(err) != 7*time.Second || !strings.Contains(err.Error(), "HTTP 429") {
		t.Errorf("429: %d requests, %v (retryable %v, after %v); want 1, marked retryable after 7s", n.Load(), err, retry.Retryable(err), retry.AfterOf(err))
	}
	_, err = c.Media(t.Context(), MediaFile{MediaID: "f", MediaPath: "/forbidden"})
	var auth *AuthError
	if n.Load() != 2 || retry.Retryable(err) || !errors.As(err, &auth) {
		t.Errorf("403: %d requests in all, %v; want 2, an AuthError not marked retryable", n.Load(), err)
	}
}

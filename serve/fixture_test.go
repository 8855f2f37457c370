package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
)

const testToken = "s3cret-search-token-NEVER-SHOWN"

// clock is an injectable clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is an archive of a few encrypted recordings, its index and a
// server over it.
type fixture struct {
	root   string
	plain  map[string][]byte // mediaId → plaintext
	key    *rsa.PrivateKey
	cert   *x509.Certificate
	clock  *clock
	logBuf *bytes.Buffer
	audit  string
	set    *archive.Set
	srv    *Server
	h      http.Handler
}

type fixtureRec struct {
	id, ani, tenant, agent string
	start                  time.Time
}

var t0 = time.Date(2024, 3, 9, 10, 0, 0, 0, time.UTC)

func fixtureRecs() []fixtureRec {
	return []fixtureRec{
		{"R1", "+3317000", "acme", "a1", t0},
		{"R2", "+3318000", "acme", "a2", t0.Add(time.Hour)},
		{"R3", "+4420000", "other", "a3", t0.Add(2 * time.Hour)},
	}
}

func newFixture(t *testing.T, mutate func(*Options)) *fixture {
	t.Helper()
	f := &fixture{root: t.TempDir(), plain: map[string][]byte{}, clock: &clock{t: t0.Add(24 * time.Hour)}, logBuf: &bytes.Buffer{}}
	f.key, f.cert = testKey(t)
	ctx := context.Background()
	x, _, _, err := archive.OpenIndex(ctx, f.root)
	if err != nil {
		t.Fatal(err)
	}
	f.set = &archive.Set{Indexes: []*archive.Index{x}}
	t.Cleanup(func() { f.set.Close() })
	rng := mrand.New(mrand.NewPCG(7, 7))
	for i, r := range fixtureRecs() {
		plain := make([]byte, 50_000+i*7)
		for j := range plain {
			plain[j] = byte(rng.IntN(256))
		}
		f.plain[r.id+"-m1"] = plain
		f.addRecording(t, r, plain)
	}
	f.audit = filepath.Join(f.root, archive.MetaDir, archive.AuditFile)
	audit, err := archive.OpenAudit(f.audit, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { audit.Close() })
	users, err := ParseUsers(strings.NewReader(testUsersFile(t)))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{
		Archives: []string{f.root}, Index: f.set, Listen: "127.0.0.1:4000", Token: testToken, Users: users,
		Key: f.key, Cert: f.cert, LinkTTL: 15 * time.Minute, Audit: audit,
		Log: slog.New(slog.NewTextHandler(f.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now: f.clock.Now, FailDelay: 100 * time.Millisecond,
	}
	if mutate != nil {
		mutate(&opt)
	}
	f.srv, err = New(opt)
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.srv.Handler()
	return f
}

// Users of the fixture: password is the name reversed.
const (
	alicePassword = "ecila"
	bobPassword   = "bob-password"
)

func testUsersFile(t *testing.T) string {
	t.Helper()
	hash := func(p string) string {
		h, err := HashPassword(p)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return fmt.Sprintf("# users\nalice:%s:agent=a1,ani=+44\nbob:%s:*\n", hash(alicePassword), hash(bobPassword))
}

func (f *fixture) addRecording(t *testing.T, r fixtureRec, plain []byte) {
	t.Helper()
	rel := r.start.Format("2006/01/02/15") + "/" + r.id
	dir := filepath.Join(f.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	if err := cms.Encrypt(&enc, bytes.NewReader(plain), int64(len(plain)), []*x509.Certificate{f.cert}, cms.AES128CBC, rand.Reader); err != nil {
		t.Fatal(err)
	}
	mid := r.id + "-m1"
	if err := os.WriteFile(filepath.Join(dir, mid+".bin"), enc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := fmt.Appendf(nil, `{"id":%q,"startTime":%q,"stopTime":%q,"callType":"Inbound","callerPhoneNumber":%q,
	  "dialedPhoneNumber":"5000","tenant":%q,"mediaFiles":[{"mediaId":%q,"type":"audio/mpeg","size":%d}],
	  "eventHistory":[{"occurredAt":%q,"event":"joined","agentId":%q}]}`,
		r.id, r.start.Format(time.RFC3339), r.start.Add(time.Minute).Format(time.RFC3339), r.ani, r.tenant, mid, len(plain),
		r.start.Format(time.RFC3339), r.agent)
	if err := os.WriteFile(filepath.Join(dir, archive.RecordingFile), doc, 0o600); err != nil {
		t.Fatal(err)
	}
	rec := archive.Recording{ID: r.id, Dir: rel, Start: r.start, JSON: doc, Files: []archive.File{{Name: mid + ".bin", Size: int64(enc.Len())}}}
	if err := f.set.Indexes[0].Add(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
}

func testKey(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "serve-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// do sends one request from addr to the handler; every answer is kept
// for the no-secrets check.
func (f *fixture) do(t *testing.T, method, target, addr string, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if addr != "" {
		r.RemoteAddr = addr
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f *fixture) search(t *testing.T, body string, addr string) (SearchAnswer, int) {
	t.Helper()
	w := f.do(t, "POST", "/search/", addr, body, nil)
	var a SearchAnswer
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
			t.Fatalf("search answer: %v\n%s", err, w.Body)
		}
	}
	return a, w.Code
}

// pathOf strips the public base from a link.
func pathOf(link string) string {
	return strings.TrimPrefix(link, "http://127.0.0.1:4000")
}

func mustPrefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func httptestRequest(method, target, body string) *http.Request {
	return httptest.NewRequest(method, target, strings.NewReader(body))
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

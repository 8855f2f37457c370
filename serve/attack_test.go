package serve

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rcbs/rcbs/cms"
)

// startReal serves f over a real listener with spec §12's http.Server.
func (f *fixture) startReal(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := f.srv.HTTPServer(ln.Addr().String())
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

func TestMediaRange(t *testing.T) {
	for _, keyed := range []bool{true, false} {
		t.Run(fmt.Sprintf("decrypting=%v", keyed), func(t *testing.T) {
			f := newFixture(t, func(o *Options) {
				if !keyed {
					o.Key, o.Cert = nil, nil
				}
			})
			a, _ := f.search(t, `{"token":"`+testToken+`","id":"R2"}`, "")
			link := pathOf(a.Results[0].Media[0].URL)
			want := f.plain["R2-m1"]
			typ := "audio/mpeg"
			if !keyed {
				want, _ = os.ReadFile(f.root + "/" + "2024/03/09/11/R2/R2-m1.bin")
				typ = "application/pkcs7-mime"
			}
			n := len(want)
			for _, tc := range []struct {
				rng        string
				code       int
				start, end int // want[start:end]
			}{
				{"", 200, 0, n},
				{"bytes=0-0", 206, 0, 1},
				{"bytes=15-16", 206, 15, 17},
				{"bytes=1000-33000", 206, 1000, 33001},
				{fmt.Sprintf("bytes=%d-", n-100), 206, n - 100, n},
				{"bytes=-17", 206, n - 17, n},
				{fmt.Sprintf("bytes=%d-", n), 416, 0, 0},
			} {
				w := f.do(t, "GET", link, "", "", map[string]string{"Range": tc.rng})
				if w.Code != tc.code {
					t.Errorf("Range %q: %d, want %d", tc.rng, w.Code, tc.code)
					continue
				}
				if tc.code == 416 {
					continue
				}
				if !bytes.Equal(w.Body.Bytes(), want[tc.start:tc.end]) {
					t.Errorf("Range %q: %d bytes differ from the plaintext's [%d:%d]", tc.rng, w.Body.Len(), tc.start, tc.end)
				}
				if ct := w.Header().Get("Content-Type"); ct != typ {
					t.Errorf("Content-Type %q, want %q", ct, typ)
				}
				if tc.code == 206 && w.Header().Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end-1, n) {
					t.Errorf("Content-Range %q", w.Header().Get("Content-Range"))
				}
			}
		})
	}
}

func TestHostilePaths(t *testing.T) {
	f := newFixture(t, nil)
	a, _ := f.search(t, `{"token":"`+testToken+`","id":"R1"}`, "")
	u := pathOf(a.Results[0].Media[0].URL)
	q := u[strings.Index(u, "?"):]
	for _, p := range []string{
		"/m/..%2F..%2Fetc/passwd" + q,
		"/m/R1/..%2FR1-m1" + q,
		"/m/R1%2F..%2FR2/R2-m1" + q,
		"/m/R1/R1-m1%00" + q,
		"/m/R1%00/R1-m1" + q,
		"/m/../../../etc/passwd" + q,
		"/r/..%2F..%2Frecording.json" + q,
		"/r/R1" + q,
		"/x/%2e%2e.zip" + q,
		"/m/R1/%5c..%5cR1-m1" + q,
	} {
		w := f.do(t, "GET", p, "", "", nil)
		if w.Code < 300 || w.Code >= 500 || bytes.Contains(w.Body.Bytes(), f.plain["R1-m1"][:64]) {
			t.Errorf("GET %s: %d %q", p, w.Code, w.Body.String())
		}
	}
	for _, m := range []struct{ method, path string }{
		{"GET", "/search/"}, {"PUT", "/search/"}, {"DELETE", u}, {"POST", u}, {"PUT", "/health"}, {"POST", "/metrics"},
	} {
		if w := f.do(t, m.method, m.path, "", "", nil); w.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", m.method, m.path, w.Code)
		}
	}
}

func TestRequestLimits(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.ReadHeaderTimeout, o.IdleTimeout = 300*time.Millisecond, 300*time.Millisecond })
	base := f.startReal(t)
	big := `{"token":"` + testToken + `","id":"` + strings.Repeat("x", 1<<20) + `"}`
	resp, err := http.Post(base+"/search/", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB body: %d, want 413", resp.StatusCode)
	}
	// The same body without a length (chunked) is cut at 1 MiB too.
	resp, err = http.Post(base+"/search/", "application/json", io.MultiReader(strings.NewReader(big)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked 1 MiB body: %d, want 413", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", base+"/health", nil)
	req.Header.Set("X-Big", strings.Repeat("h", 70<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("70 KiB header: %d, want 431", resp.StatusCode)
	}
	// Slow loris: half a request line, then silence; the server hangs up.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "GET /health HTTP/1.1\r\nHost: x\r\n")
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
		// Go answers 408 to a header timeout on some versions; the connection must still close.
		if _, err := io.ReadAll(conn); err != nil {
			t.Errorf("slow client not disconnected: %v", err)
		}
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("slow client still connected after %v", time.Since(start))
	}
	// An idle keep-alive connection is closed too.
	idle, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprint(idle, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(idle)
	resp, err = http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("idle connection: %v, want it closed (EOF)", err)
	}
}

// TestNothingLeaks runs every kind of request, good and bad, and checks
// that no answer, log line or audit line holds the token, a password, the
// archive's path or the key.
func TestNothingLeaks(t *testing.T) {
	f := newFixture(t, nil)
	var answers bytes.Buffer
	keep := func(code int, hdr http.Header, body []byte) {
		fmt.Fprintf(&answers, "%d %v %s\n", code, hdr, body)
	}
	a, _ := f.search(t, `{"token":"`+testToken+`"}`, "")
	reqs := []struct{ method, path, body string }{
		{"POST", "/search/", `{"token":"` + testToken + `"}`},
		{"POST", "/search/", `{"token":"` + testToken + `x"}`},
		{"POST", "/search/", `{"token":"` + testToken + `","from":"` + f.root + `"}`},
		{"POST", "/search/", `{"token":"` + testToken + `","cursor":"` + f.root + `"}`},
		{"GET", "/health", ""}, {"GET", "/metrics", ""},
	}
	for _, r := range a.Results {
		reqs = append(reqs, struct{ method, path, body string }{"GET", pathOf(r.Media[0].URL), ""},
			struct{ method, path, body string }{"GET", pathOf(r.Metadata), ""},
			struct{ method, path, body string }{"GET", pathOf(r.Zip), ""})
	}
	// A media file gone from disk, a damaged one.
	os.Remove(f.root + "/2024/03/09/10/R1/R1-m1.bin")
	damaged := f.root + "/2024/03/09/11/R2/R2-m1.bin"
	if b, err := os.ReadFile(damaged); err != nil || os.WriteFile(damaged, b[:len(b)-40], 0o600) != nil {
		t.Fatal("cannot truncate a media file")
	}
	for _, r := range reqs {
		w := f.do(t, r.method, r.path, "", r.body, nil)
		body := w.Body.Bytes()
		if strings.HasPrefix(r.path, "/m/") {
			body = nil // media bytes are random; the headers still count
		}
		keep(w.Code, w.Header(), body)
	}
	audit, _ := os.ReadFile(f.audit)
	for what, text := range map[string]string{"answers": answers.String(), "log": f.logBuf.String(), "audit": string(audit)} {
		for _, secret := range []string{testToken, alicePassword, bobPassword, f.root, "PRIVATE KEY", fmt.Sprint(f.key.D)} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain %q:\n%s", what, secret, text)
			}
		}
	}
	if !strings.Contains(f.logBuf.String(), "media could not be decrypted") || !strings.Contains(string(audit), `"status":404`) {
		t.Errorf("the premise failed: no decrypt error logged or no 404 audited\nlog:\n%s\naudit:\n%s", f.logBuf, audit)
	}
}

// TestMediaRewritten: opened media are kept by identity; a file replaced
// on disk (verify -repair, a re-download) is served anew, not from memory.
func TestMediaRewritten(t *testing.T) {
	f := newFixture(t, nil)
	a, _ := f.search(t, `{"token":"`+testToken+`","id":"R1"}`, "")
	link := pathOf(a.Results[0].Media[0].URL)
	if w := f.do(t, "GET", link, "", "", map[string]string{"Range": "bytes=0-99"}); w.Code != 206 || !bytes.Equal(w.Body.Bytes(), f.plain["R1-m1"][:100]) {
		t.Fatalf("first fetch: %d", w.Code)
	}
	newer := bytes.Repeat([]byte("replaced "), 3000)
	var enc bytes.Buffer
	if err := cms.Encrypt(&enc, bytes.NewReader(newer), int64(len(newer)), []*x509.Certificate{f.cert}, cms.AES256CBC, rand.Reader); err != nil {
		t.Fatal(err)
	}
	path := f.root + "/2024/03/09/10/R1/R1-m1.bin"
	if err := os.WriteFile(path, enc.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if w := f.do(t, "GET", link, "", "", nil); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), newer) {
		t.Errorf("after the file was replaced: %d, %d bytes; want the new plaintext", w.Code, w.Body.Len())
	}
}

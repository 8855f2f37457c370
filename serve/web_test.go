package serve

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// browser is a real HTTP client with a cookie jar against a real server.
type browser struct {
	t    *testing.T
	srv  *httptest.Server
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, f *fixture) *browser {
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)
	return newBrowserOn(t, srv)
}

func newBrowserOn(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, srv: srv, c: c}
}

var metaCSRF = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// page loads / and remembers the CSRF token of its meta tag.
func (b *browser) page() (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.srv.URL + "/")
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := metaCSRF.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	resp, err := b.c.PostForm(b.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (b *browser) signIn(user, password string) *http.Response {
	return b.post("/signin", url.Values{"user": {user}, "password": {password}, "csrf": {b.csrf}})
}

func (b *browser) search(body string, csrf string) (SearchAnswer, int) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.srv.URL+"/search/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a SearchAnswer
	if resp.StatusCode == 200 {
		json.NewDecoder(resp.Body).Decode(&a)
	}
	return a, resp.StatusCode
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func ids(a SearchAnswer) []string {
	var out []string
	for _, r := range a.Results {
		out = append(out, r.ID)
	}
	slices.Sort(out)
	return out
}

func TestWebPageHeaders(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	resp, body := b.page()
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") ||
		strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("GET /: %d, CSP %q", resp.StatusCode, csp)
	}
	c := cookieOf(resp, CSRFCookie)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Value != b.csrf {
		t.Errorf("csrf cookie %+v, meta %q", c, b.csrf)
	}
	if !strings.Contains(body, `id="signin"`) || strings.Contains(body, `id="search"`) {
		t.Error("a visitor without a session is not shown the sign-in form alone")
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
		t.Error("the page has inline script")
	}
	for _, path := range []string{"/static/app.js", "/static/style.css"} {
		r, err := b.c.Get(b.srv.URL + path)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, r.StatusCode, err)
		}
		r.Body.Close()
	}
	for _, c := range []struct{ method, path string }{{"POST", "/"}, {"GET", "/signin"}, {"GET", "/signout"}, {"DELETE", "/static/app.js"}} {
		req, _ := http.NewRequest(c.method, b.srv.URL+c.path, nil)
		r, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", c.method, c.path, r.StatusCode)
		}
	}
	if r, _ := b.c.Get(b.srv.URL + "/static/index.html"); r.StatusCode != 404 {
		t.Errorf("the page template is served raw: %d", r.StatusCode)
	}
}

func TestWebSignInSearchSignOut(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	b.page()
	if r := b.post("/signin", url.Values{"user": {"bob"}, "password": {bobPassword}, "csrf": {"forged"}}); r.StatusCode != 403 {
		t.Errorf("sign-in with a forged CSRF token: %d, want 403", r.StatusCode)
	}
	if r := b.signIn("bob", "wrong"); r.StatusCode != 401 || cookieOf(r, SessionCookie) != nil {
		t.Errorf("wrong password: %d", r.StatusCode)
	}
	r := b.signIn("bob", bobPassword)
	s := cookieOf(r, SessionCookie)
	if r.StatusCode != http.StatusSeeOther || s == nil || !s.HttpOnly || s.SameSite != http.SameSiteStrictMode || strings.Contains(s.Value, bobPassword) {
		t.Fatalf("sign-in: %d, cookie %+v", r.StatusCode, s)
	}
	if _, body := b.page(); !strings.Contains(body, "Signed in as <strong>bob</strong>") || !strings.Contains(body, `id="search"`) {
		t.Error("the signed-in page does not show the search")
	}
	if _, code := b.search(`{}`, ""); code != 401 {
		t.Errorf("session search without X-CSRF-Token: %d, want 401", code)
	}
	if _, code := b.search(`{}`, "forged"); code != 401 {
		t.Errorf("session search with a wrong X-CSRF-Token: %d, want 401", code)
	}
	a, code := b.search(`{}`, b.csrf)
	if code != 200 || !slices.Equal(ids(a), []string{"R1", "R2", "R3"}) {
		t.Errorf("bob's search: %d %v", code, ids(a))
	}
	old := *s
	if r := b.post("/signout", url.Values{"csrf": {b.csrf}}); r.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d", r.StatusCode)
	}
	if _, code := b.search(`{}`, b.csrf); code != 401 {
		t.Errorf("search after sign-out: %d", code)
	}
	// The cookie as it was before sign-out is dead too.
	u, _ := url.Parse(b.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{&old})
	if _, code := b.search(`{}`, b.csrf); code != 401 {
		t.Errorf("a signed-out session cookie replayed: %d, want 401", code)
	}
	audit := readAudit(t, f)
	for _, want := range []string{`"action":"signin","recordingId":"","mediaId":"","status":303`, `"action":"signout"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit lacks %s:\n%s", want, audit)
		}
	}
}

func TestWebScopedUserSeesOwnRows(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	b.page()
	b.signIn("alice", alicePassword)
	a, code := b.search(`{}`, b.csrf)
	if code != 200 || !slices.Equal(ids(a), []string{"R1", "R3"}) {
		t.Errorf("alice (agent=a1, ani=+44) sees %v (%d), want [R1 R3]", ids(a), code)
	}
}

func TestWebSecureCookieUnderHTTPS(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.PublicURL, _ = url.Parse("https://rec.example.com") })
	b := newBrowser(t, f)
	resp, _ := b.page()
	if c := cookieOf(resp, CSRFCookie); c == nil || !c.Secure {
		t.Errorf("csrf cookie under an https public URL: %+v", c)
	}
}

func TestZipLink(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	a, code := f.search(t, `{"token":"`+testToken+`","id":"R2"}`, "")
	if code != 200 || len(a.Results) != 1 {
		t.Fatalf("search: %d %+v", code, a)
	}
	resp, err := b.c.Get(b.srv.URL + pathOf(a.Results[0].Zip))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, zf := range zr.File {
		names = append(names, zf.Name)
		if strings.HasSuffix(zf.Name, ".mp3") {
			rc, _ := zf.Open()
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, f.plain["R2-m1"]) {
				t.Error("the zip's media is not the decrypted plaintext")
			}
		}
	}
	want := []string{"2024-03-09_11-00-00_R2/R2-m1.mp3", "2024-03-09_11-00-00_R2/recording.json", "2024-03-09_11-00-00_R2/call-info.pdf", "SHA256SUMS"}
	if !slices.Equal(names, want) {
		t.Errorf("zip entries %v, want %v", names, want)
	}
	tampered := strings.Replace(pathOf(a.Results[0].Zip), "/x/R2.zip", "/x/R1.zip", 1)
	if r, _ := b.c.Get(b.srv.URL + tampered); r.StatusCode != 403 {
		t.Errorf("a zip link moved to another recording: %d, want 403", r.StatusCode)
	}
	if !strings.Contains(readAudit(t, f), `"action":"export","recordingId":"R2","mediaId":"","status":200`) {
		t.Errorf("no export audit line:\n%s", readAudit(t, f))
	}
}

func davRequest(t *testing.T, b *browser, method, path, user, password string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, b.srv.URL+path, nil)
	req.Header.Set("Depth", "1")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestDav(t *testing.T) {
	f := newFixture(t, nil)
	b := newBrowser(t, f)
	// A client's probes without credentials are challenged, not counted.
	for range 12 {
		if r := davRequest(t, b, "PROPFIND", "/dav/", "", ""); r.StatusCode != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("PROPFIND without credentials: %d %q", r.StatusCode, r.Header.Get("WWW-Authenticate"))
		}
	}
	if r := davRequest(t, b, "PROPFIND", "/dav/", "bob", bobPassword); r.StatusCode != 207 {
		t.Errorf("bob (scope *) PROPFIND: %d", r.StatusCode)
	}
	if r := davRequest(t, b, "GET", "/dav/2024/03/09/10/R1/R1-m1.bin", "bob", bobPassword); r.StatusCode != 200 {
		t.Errorf("bob GET: %d", r.StatusCode)
	}
	if r := davRequest(t, b, "GET", "/dav/.rcbs/audit.log", "bob", bobPassword); r.StatusCode != 404 {
		t.Errorf("GET .rcbs/audit.log: %d, want 404", r.StatusCode)
	}
	if r := davRequest(t, b, "PUT", "/dav/2024/x.bin", "bob", bobPassword); r.StatusCode != 403 {
		t.Errorf("PUT: %d, want 403", r.StatusCode)
	}
	if r := davRequest(t, b, "PROPFIND", "/dav/", "alice", alicePassword); r.StatusCode != 403 {
		t.Errorf("alice (restricted scope) PROPFIND: %d, want 403", r.StatusCode)
	}
	for range 10 {
		davRequest(t, b, "PROPFIND", "/dav/", "bob", "wrong")
	}
	if r := davRequest(t, b, "PROPFIND", "/dav/", "bob", bobPassword); r.StatusCode != 429 {
		t.Errorf("after 10 wrong passwords the right one: %d, want 429", r.StatusCode)
	}
	if !strings.Contains(readAudit(t, f), `"user":"bob","addr":"127.0.0.1","action":"download","recordingId":"R1","mediaId":"R1-m1","status":200`) {
		t.Errorf("no dav download audit line:\n%s", readAudit(t, f))
	}
}

func readAudit(t *testing.T, f *fixture) string {
	t.Helper()
	b, err := os.ReadFile(f.audit)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A zip that cannot be made (a media file gone from the archive) is a 500
// with a JSON error, not an attachment, and an audit line.
func TestZipLinkFails(t *testing.T) {
	f := newFixture(t, nil)
	a, code := f.search(t, `{"token":"`+testToken+`","id":"R3"}`, "")
	if code != 200 || len(a.Results) != 1 {
		t.Fatalf("search: %d %+v", code, a)
	}
	if err := os.Remove(filepath.Join(f.root, "2024/03/09/12/R3/R3-m1.bin")); err != nil {
		t.Fatal(err)
	}
	w := f.do(t, "GET", pathOf(a.Results[0].Zip), "", "", nil)
	if w.Code != 500 || w.Header().Get("Content-Disposition") != "" || !strings.Contains(w.Body.String(), `"error"`) {
		t.Errorf("zip of a recording missing its media: %d %q %s", w.Code, w.Header().Get("Content-Disposition"), w.Body)
	}
	if !strings.Contains(readAudit(t, f), `"action":"export","recordingId":"R3","mediaId":"","status":500`) {
		t.Errorf("no audit line for the failed zip:\n%s", readAudit(t, f))
	}
}

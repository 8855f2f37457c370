package serve

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func resultIDs(a SearchAnswer) []string {
	var ids []string
	for _, r := range a.Results {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestSearch(t *testing.T) {
	f := newFixture(t, nil)
	tok := `"token":"` + testToken + `"`
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"all newest first", `{` + tok + `}`, []string{"R3", "R2", "R1"}},
		{"id", `{` + tok + `,"id":"R2"}`, []string{"R2"}},
		{"from ms inclusive, to RFC 3339 exclusive", fmt.Sprintf(`{%s,"from":%d,"to":%q}`, tok, t0.Add(time.Hour).UnixMilli(), t0.Add(2*time.Hour).Format(time.RFC3339)), []string{"R2"}},
		{"agent", `{` + tok + `,"agent":"a1"}`, []string{"R1"}},
		{"ani prefix", `{` + tok + `,"ani":"+331"}`, []string{"R2", "R1"}},
		{"dnis prefix", `{` + tok + `,"dnis":"50"}`, []string{"R3", "R2", "R1"}},
		{"direction ignoring case", `{` + tok + `,"direction":"INBOUND"}`, []string{"R3", "R2", "R1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, code := f.search(t, tc.body, "")
			if code != 200 || !slices.Equal(resultIDs(a), tc.want) {
				t.Errorf("got %d %v, want %v", code, resultIDs(a), tc.want)
			}
		})
	}
	// Bearer token, paging with the cursor.
	var got []string
	cursor := ""
	for range 4 {
		w := f.do(t, "POST", "/search/", "", fmt.Sprintf(`{"limit":2,"cursor":%q}`, cursor), map[string]string{"Authorization": "Bearer " + testToken})
		if w.Code != 200 {
			t.Fatalf("bearer search: %d %s", w.Code, w.Body)
		}
		a, _ := f.search(t, fmt.Sprintf(`{%s,"limit":2,"cursor":%q}`, tok, cursor), "")
		got = append(got, resultIDs(a)...)
		if cursor = a.Next; cursor == "" {
			break
		}
	}
	if !slices.Equal(got, []string{"R3", "R2", "R1"}) {
		t.Errorf("paged = %v", got)
	}
	a, _ := f.search(t, `{`+tok+`,"id":"R1"}`, "")
	r := a.Results[0]
	if r.StartTime != "2024-03-09T10:00:00.000Z" || r.DurationMs != 60000 || r.Direction != "Inbound" || r.ANI != "+3317000" ||
		!slices.Equal(r.Agents, []string{"a1"}) || len(r.Media) != 1 || r.Media[0].Type != "audio/mpeg" ||
		!strings.HasPrefix(r.Media[0].URL, "http://127.0.0.1:4000/m/R1/R1-m1?") || !strings.Contains(r.Zip, "/x/R1.zip?") ||
		!strings.Contains(r.Metadata, "/r/R1.json?") || r.Media[0].Expires != "2024-03-10T10:15:00Z" {
		t.Errorf("result = %+v", r)
	}
	for _, bad := range []string{`{`, `[]`, `{` + tok + `,"from":"yesterday"}`, `{` + tok + `,"cursor":"!!"}`, `{` + tok + `,"nope":1}`, `{` + tok + `,"limit":-1}`} {
		if _, code := f.search(t, bad, ""); code != http.StatusBadRequest {
			t.Errorf("search %s: %d, want 400", bad, code)
		}
	}
}

func TestScopeOnSearchAndLinks(t *testing.T) {
	f := newFixture(t, nil)
	// alice: agent=a1, ani=+44 → R1 and R3.
	alice := Principal{Name: "alice"}
	var p Principal
	p, ok := f.srv.Users().Check("alice", alicePassword)
	if !ok || p.All() {
		t.Fatalf("alice's password not accepted (%v) or scope * ", ok)
	}
	f.srv.SessionPrincipal = func(*http.Request) (Principal, bool) { return p, true }
	a, code := f.search(t, `{}`, "")
	if code != 200 || !slices.Equal(resultIDs(a), []string{"R3", "R1"}) {
		t.Errorf("alice's search = %d %v, want R3 R1", code, resultIDs(a))
	}
	for _, r := range a.Results {
		if w := f.do(t, "GET", pathOf(r.Media[0].URL), "", "", nil); w.Code != 200 {
			t.Errorf("alice fetching %s: %d", r.ID, w.Code)
		}
	}
	// A link for alice to R2, outside her scope, signed with the right key.
	link, _ := f.srv.Links().Sign(MediaPath("R2", "R2-m1"), alice.Name)
	if w := f.do(t, "GET", link, "", "", nil); w.Code != http.StatusForbidden {
		t.Errorf("alice's link to R2: %d, want 403", w.Code)
	}
	// A user who is no longer in the users file.
	link, _ = f.srv.Links().Sign(MediaPath("R1", "R1-m1"), "mallory")
	if w := f.do(t, "GET", link, "", "", nil); w.Code != http.StatusForbidden {
		t.Errorf("unknown user's link: %d, want 403", w.Code)
	}
}

func TestLinksRefused(t *testing.T) {
	f := newFixture(t, nil)
	a, _ := f.search(t, `{"token":"`+testToken+`","id":"R1"}`, "")
	link := pathOf(a.Results[0].Media[0].URL)
	if w := f.do(t, "GET", link, "", "", nil); w.Code != 200 {
		t.Fatalf("the link itself: %d %s", w.Code, w.Body)
	}
	u, _ := url.Parse(link)
	q := u.Query()
	tamper := map[string]string{
		"recording id": strings.Replace(link, "/m/R1/", "/m/R2/", 1),
		"media id":     strings.Replace(link, "/R1-m1?", "/R1-m2?", 1),
		"user":         u.Path + "?" + with(q, "u", "bob"),
		"exp":          u.Path + "?" + with(q, "exp", fmt.Sprint(f.clock.Now().Add(time.Hour).Unix())),
		"sig":          u.Path + "?" + with(q, "sig", flip(q.Get("sig"))),
		"no sig":       u.Path + "?" + with(q, "sig", ""),
		"two users":    link + "&u=bob",
		"metadata":     strings.Replace(link, "/m/R1/R1-m1", "/r/R1.json", 1),
	}
	for name, l := range tamper {
		if w := f.do(t, "GET", l, "", "", nil); w.Code != http.StatusForbidden {
			t.Errorf("tampered %s: %d, want 403", name, w.Code)
		}
	}
	f.clock.Add(15 * time.Minute)
	if w := f.do(t, "GET", link, "", "", nil); w.Code != http.StatusGone {
		t.Errorf("expired: %d, want 410", w.Code)
	}
	// A restart draws a new secret: the old links die.
	g := newFixture(t, nil)
	if w := g.do(t, "GET", link, "", "", nil); w.Code != http.StatusForbidden {
		t.Errorf("after a restart: %d, want 403", w.Code)
	}
	// Unless the secret is shared (RCBS_SERVE_LINK_SECRET).
	secret := []byte(strings.Repeat("k", 32))
	h1 := newFixture(t, func(o *Options) { o.LinkSecret = secret })
	h2 := newFixture(t, func(o *Options) { o.LinkSecret = secret })
	a, _ = h1.search(t, `{"token":"`+testToken+`","id":"R1"}`, "")
	if w := h2.do(t, "GET", pathOf(a.Results[0].Media[0].URL), "", "", nil); w.Code != 200 {
		t.Errorf("shared secret: %d, want 200", w.Code)
	}
}

func with(q url.Values, k, v string) string {
	c := url.Values{}
	for kk, vv := range q {
		c[kk] = slices.Clone(vv)
	}
	c.Set(k, v)
	return c.Encode()
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestWrongTokenDelayAndLimit(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.FailDelay = 300 * time.Millisecond })
	const attacker, other = "192.0.2.1:1000", "192.0.2.2:1000"
	start := time.Now()
	if _, code := f.search(t, `{"token":"wrong"}`, attacker); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, want 401", code)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("401 after %v, want the fixed delay", d)
	}
	// The delay does not stall other clients: a good search started while
	// a bad one waits finishes first.
	var wg sync.WaitGroup
	order := make(chan string, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		f.search(t, `{"token":"wrong"}`, attacker)
		order <- "bad"
	}()
	time.Sleep(50 * time.Millisecond)
	if _, code := f.search(t, `{"token":"`+testToken+`"}`, other); code != 200 {
		t.Errorf("good search: %d", code)
	}
	order <- "good"
	wg.Wait()
	if first := <-order; first != "good" {
		t.Error("a wrong token stalled another client's search")
	}
	for range 8 { // 10 failures in all
		f.search(t, `{"token":"wrong"}`, attacker)
	}
	for _, body := range []string{`{"token":"wrong"}`, `{"token":"` + testToken + `"}`} {
		if _, code := f.search(t, body, attacker); code != http.StatusTooManyRequests {
			t.Errorf("after 10 failures %s: %d, want 429", body, code)
		}
	}
	if _, code := f.search(t, `{"token":"`+testToken+`"}`, other); code != 200 {
		t.Errorf("another address: %d, want 200", code)
	}
	f.clock.Add(9 * time.Minute)
	if _, code := f.search(t, `{"token":"`+testToken+`"}`, attacker); code != http.StatusTooManyRequests {
		t.Errorf("9 minutes later: %d, want 429", code)
	}
	f.clock.Add(time.Minute)
	if _, code := f.search(t, `{"token":"`+testToken+`"}`, attacker); code != 200 {
		t.Errorf("10 minutes later: %d, want 200", code)
	}
}

func TestTrustedProxies(t *testing.T) {
	f := newFixture(t, nil)
	// From an untrusted peer, X-Forwarded-For cannot dodge the limiter.
	for i := range 10 {
		f.do(t, "POST", "/search/", "192.0.2.9:1", `{"token":"x"}`, map[string]string{"X-Forwarded-For": fmt.Sprintf("10.0.0.%d", i)})
	}
	if w := f.do(t, "POST", "/search/", "192.0.2.9:1", `{"token":"`+testToken+`"}`, map[string]string{"X-Forwarded-For": "10.9.9.9"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("spoofed X-Forwarded-For: %d, want 429", w.Code)
	}
	g := newFixture(t, func(o *Options) { o.TrustedProxies = mustPrefixes(t, "127.0.0.0/8") })
	hdr := map[string]string{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "rec.example.com"}
	r := g.do(t, "POST", "/search/", "127.0.0.1:5", `{"token":"`+testToken+`","id":"R1"}`, hdr)
	if !strings.Contains(r.Body.String(), `"url":"https://rec.example.com/m/R1/`) {
		t.Errorf("links behind a trusted proxy: %s", r.Body)
	}
	r = f.do(t, "POST", "/search/", "192.0.2.10:5", `{"token":"`+testToken+`","id":"R1"}`, hdr)
	if !strings.Contains(r.Body.String(), `"url":"http://127.0.0.1:4000/m/R1/`) {
		t.Errorf("forwarded headers from an untrusted peer were believed: %s", r.Body)
	}
}

func TestSearchAsUser(t *testing.T) {
	f := newFixture(t, nil)
	basic := func(user, pw string) (SearchAnswer, int) {
		r := httptestRequest("POST", "/search/", `{}`)
		r.SetBasicAuth(user, pw)
		r.Header.Set("Content-Type", "application/json")
		w := f.serve(r)
		var a SearchAnswer
		json.Unmarshal(w.Body.Bytes(), &a)
		return a, w.Code
	}
	if a, code := basic("alice", alicePassword); code != 200 || !slices.Equal(resultIDs(a), []string{"R3", "R1"}) {
		t.Errorf("alice by Basic: %d %v, want R3 R1", code, resultIDs(a))
	} else if !strings.Contains(a.Results[0].Media[0].URL, "u=alice") {
		t.Errorf("alice's links are not hers: %s", a.Results[0].Media[0].URL)
	}
	if a, code := basic("bob", bobPassword); code != 200 || len(a.Results) != 3 {
		t.Errorf("bob (scope *): %d %v", code, resultIDs(a))
	}
	// A cross-site form post carrying cached Basic credentials cannot send
	// JSON's content type: refused before the password is even checked.
	for _, typ := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		r := httptestRequest("POST", "/search/", `{}`)
		r.SetBasicAuth("bob", bobPassword)
		if typ != "" {
			r.Header.Set("Content-Type", typ)
		}
		if w := f.serve(r); w.Code != http.StatusUnsupportedMediaType {
			t.Errorf("Basic search with Content-Type %q: %d, want 415", typ, w.Code)
		}
	}
	for _, c := range [][2]string{{"alice", bobPassword}, {"nobody", "x"}, {"token", testToken}} {
		if _, code := basic(c[0], c[1]); code != http.StatusUnauthorized {
			t.Errorf("Basic %s with a wrong password: %d, want 401", c[0], code)
		}
	}
}

func TestHealthAndMetrics(t *testing.T) {
	f := newFixture(t, nil)
	w := f.do(t, "GET", "/health", "", "", nil)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"status":"ok","archives":1,"indexed":3,"keyLoaded":true}` {
		t.Errorf("health: %d %s", w.Code, w.Body)
	}
	f.search(t, `{"token":"`+testToken+`"}`, "")
	f.search(t, `{"token":"wrong"}`, "")
	w = f.do(t, "GET", "/metrics", "", "", nil)
	for _, want := range []string{`rcbs_serve_requests_total{code="200",route="search"} 1`, `rcbs_serve_requests_total{code="401",route="search"} 1`,
		`rcbs_serve_auth_failures_total 1`, `rcbs_serve_search_seconds_count 1`, `rcbs_serve_bytes_served_total`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	f.set.Indexes[0].Close()
	w = f.do(t, "GET", "/health", "", "", nil)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"problem":"archive 1: index unreadable"`) {
		t.Errorf("health with a broken index: %d %s", w.Code, w.Body)
	}
}

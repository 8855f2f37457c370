package metadata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const t0 = int64(1518462067000) // 2018-02-12T19:01:07Z

func TestListPaging(t *testing.T) {
	tests := []struct {
		paging    string
		n         int
		wantPages int
	}{
		{"path", 0, 1}, {"path", 1, 1}, {"path", 101, 2}, {"path", 250, 3},
		{"abs", 250, 3}, {"abs", 199, 2},
		// A full page without next asks for one more (a capped server looks the same).
		{"path", 100, 2}, {"abs", 200, 3},
		{"none", 0, 1}, {"none", 99, 1}, {"none", 100, 2}, {"none", 250, 3}, {"none", 300, 4},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.paging, tt.n), func(t *testing.T) {
			recs := makeRecs(tt.n, t0, 1000)
			f := newFakeAPI(t, recs, tt.paging)
			got, err := collect(t.Context(), f.client(t), t0, t0+int64(tt.n+1)*1000)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, got, recs)
			raw := rawOf(recs)
			for i := range got {
				if got[i].ID != recs[i].id {
					t.Fatalf("recording %d is %s, want %s (server order)", i, got[i].ID, recs[i].id)
				}
				if string(got[i].Raw) != raw[got[i].ID] {
					t.Fatalf("recording %s: Raw\n%s\nwant the bytes as served\n%s", got[i].ID, got[i].Raw, raw[got[i].ID])
				}
			}
			if pages, _ := f.count(); pages != tt.wantPages {
				t.Errorf("asked %d pages, want %d", pages, tt.wantPages)
			}
			f.checkAuthEverywhere(t)
		})
	}
}

func TestListQuery(t *testing.T) {
	f := newFakeAPI(t, makeRecs(150, t0, 10), "none")
	if _, err := collect(t.Context(), f.client(t), t0, t0+5000); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("startTime=%d&endTime=%d&fields=*&limit=100&offset=0", t0, t0+5000),
		fmt.Sprintf("startTime=%d&endTime=%d&fields=*&limit=100&offset=100", t0, t0+5000),
	}
	if strings.Join(f.queries, "\n") != strings.Join(want, "\n") {
		t.Errorf("queries\n%s\nwant\n%s", strings.Join(f.queries, "\n"), strings.Join(want, "\n"))
	}
}

func TestListLegacyBisection(t *testing.T) {
	for _, paging := range []string{"none", "path"} {
		t.Run(paging, func(t *testing.T) {
			recs := makeRecs(1000, t0, 997) // ~1,000 s, a few per second at most
			f := newFakeAPI(t, recs, paging)
			f.legacy = true
			got, err := collect(t.Context(), f.client(t), t0, t0+1_000_000)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, got, recs)
			f.checkAuthEverywhere(t)
			// About 16 leaf ranges of one page and 15 split ones of two.
			if n, _ := f.count(); n > 100 {
				t.Errorf("%d requests for 1,000 recordings: the bisection explodes", n)
			}
		})
	}
}

func TestListLegacyOverflowOneSecond(t *testing.T) {
	crowd := makeRecs(150, t0+10_000, 1) // 150 recordings within one second
	rest := makeRecs(50, t0+20_000, 1000)
	for i := range rest {
		rest[i].id = strings.Replace(rest[i].id, "REC", "OTH", 1)
		rest[i].raw = strings.ReplaceAll(rest[i].raw, "REC", "OTH")
	}
	f := newFakeAPI(t, append(append([]fakeRec{}, crowd...), rest...), "none")
	f.legacy = true
	got, err := collect(t.Context(), f.client(t), t0, t0+100_000)
	var oe *OverflowError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want an OverflowError", err)
	}
	if len(oe.Ranges) != 1 || oe.Ranges[0].Start.UnixMilli() > t0+10_000 || oe.Ranges[0].End.UnixMilli() <= t0+10_149 {
		t.Errorf("overflow ranges %v do not cover the crowded second", oe.Ranges)
	}
	ids := map[string]int{}
	for _, r := range got {
		ids[r.ID]++
	}
	for _, r := range rest {
		if ids[r.id] != 1 {
			t.Errorf("%s delivered %d times, want 1", r.id, ids[r.id])
		}
	}
	if len(got) != 150 || len(ids) != 150 { // 100 of the crowd + 50 others, no duplicates
		t.Errorf("delivered %d (%d distinct), want 150", len(got), len(ids))
	}
}

func TestListDuplicatesAcrossPages(t *testing.T) {
	recs := makeRecs(200, t0, 1000)
	f := newFakeAPI(t, recs, "path")
	// Pages overlap: 0–99, then 50–149, then 100–199, then nothing.
	f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
		page := ""
		if n < 3 {
			lo := []int{0, 50, 100}[n]
			page = joinRaw(recs[lo : lo+100])
		}
		next := ""
		if n < 2 {
			next = fmt.Sprintf(`,"paging":{"next":"/recordings?page=%d"}`, n+1)
		}
		writeJSON(w, 200, `{"statusCode":0,"recordings":[`+page+`]`+next+`}`)
		return true
	}
	got, err := collect(t.Context(), f.client(t), t0, t0+300_000)
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, got, recs)
}

func joinRaw(recs []fakeRec) string {
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = r.raw
	}
	return strings.Join(parts, ",")
}

func TestListNextElsewhereRefused(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 200, `{"statusCode":0,"recordings":[]}`)
	}))
	defer other.Close()
	otherPort := other.Listener.Addr().(*net.TCPAddr).Port
	recs := makeRecs(5, t0, 1000)
	tests := []struct{ name, next string }{
		{"other port", other.URL + "/api/v2/recordings?offset=100"},
		{"localhost alias", fmt.Sprintf("http://localhost:%d/api/v2/recordings", otherPort)},
		{"other scheme", ""}, // filled below: https on the API's own host and port
		{"userinfo", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, recs, "path")
			next := tt.next
			switch tt.name {
			case "other scheme":
				next = strings.Replace(f.prefix(), "http://", "https://", 1) + "/recordings"
			case "userinfo":
				next = strings.Replace(f.prefix(), "http://", "http://mallory:x@", 1) + "/recordings"
			}
			f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
				writeJSON(w, 200, fmt.Sprintf(`{"statusCode":0,"recordings":[%s],"paging":{"next":%q}}`, joinRaw(recs), next))
				return true
			}
			got, err := collect(t.Context(), f.client(t), t0, t0+10_000)
			if err == nil {
				t.Fatal("listing followed a next URL elsewhere")
			}
			noSecret(t, err)
			if len(got) != len(recs) {
				t.Errorf("the first page's %d recordings were not delivered (%d)", len(recs), len(got))
			}
			if n, _ := f.count(); n != 1 {
				t.Errorf("the API got %d list requests, want 1", n)
			}
		})
	}
	if hits.Load() != 0 {
		t.Errorf("the other host got %d requests", hits.Load())
	}
}

func TestListNextLoop(t *testing.T) {
	recs := makeRecs(150, t0, 1000)
	tests := []struct {
		name      string
		next      func(r *http.Request, n int) string
		wantPages int // -1: not checked (range splits)
	}{
		{"A to B to A", func(r *http.Request, n int) string {
			if r.URL.Query().Get("offset") == "100" {
				return "/recordings?" + strings.Replace(r.URL.RawQuery, "offset=100", "offset=0", 1)
			}
			return "/recordings?" + strings.Replace(r.URL.RawQuery, "offset=0", "offset=100", 1)
		}, 2},
		{"itself after a full page", func(r *http.Request, n int) string {
			return "/recordings?" + r.URL.RawQuery
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, recs, "none")
			f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
				rec := httptest.NewRecorder()
				f.servePage(rec, r) // the page, then a next that loops
				body := strings.TrimSuffix(rec.Body.String(), "}")
				writeJSON(w, 200, fmt.Sprintf(`%s,"paging":{"next":%q}}`, body, tt.next(r, n)))
				return true
			}
			got, err := collect(t.Context(), f.client(t), t0, t0+200_000)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, got, recs)
			if pages, _ := f.count(); tt.wantPages >= 0 && pages != tt.wantPages {
				t.Errorf("asked %d pages, want %d", pages, tt.wantPages)
			}
		})
	}
}

func TestListMaxPages(t *testing.T) {
	// Every page is full of new IDs and points further: a server without end.
	f := newFakeAPI(t, nil, "path")
	f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
		raw := fmt.Sprintf(`{"id":"ID%030d","startTime":%d}`, n, t0+int64(n))
		writeJSON(w, 200, fmt.Sprintf(`{"statusCode":0,"recordings":[%s],"paging":{"next":"/recordings?page=%d"}}`, raw, n+1))
		return true
	}
	c := f.client(t, func(o *Options) { o.MaxPages = 7; o.PageLimit = 1 })
	got, err := collect(t.Context(), c, t0, t0+10_000)
	if err == nil || !strings.Contains(err.Error(), "more than 7 pages") {
		t.Fatalf("got %v, want the page bound", err)
	}
	if pages, _ := f.count(); pages != 7 || len(got) != 7 {
		t.Errorf("asked %d pages and delivered %d, want 7 and 7", pages, len(got))
	}
}

func TestListAuthRefused(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFakeAPI(t, makeRecs(3, t0, 1000), "path")
			f.faults = []int{status, status, status}
			_, err := collect(t.Context(), f.client(t), t0, t0+10_000)
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Status != status || ae.User != testUser {
				t.Fatalf("got %v, want an AuthError for %s", err, testUser)
			}
			if !strings.Contains(err.Error(), "recordings API refused the credentials of "+testUser) {
				t.Errorf("message %q does not name the user", err)
			}
			noSecret(t, err)
			if n, _ := f.count(); n != 1 {
				t.Errorf("%d requests, want 1 (no retry)", n)
			}
		})
	}
}

func TestListRetried(t *testing.T) {
	tests := []struct {
		name       string
		faults     []int
		retryAfter string
	}{
		{"500", []int{500}, ""},
		{"503 twice", []int{503, 503}, ""},
		{"502 then 504 then 500", []int{502, 504, 500}, ""},
		{"429 with Retry-After seconds", []int{429}, "1"},
		{"429 with Retry-After date", []int{429, 429}, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := makeRecs(120, t0, 1000)
			f := newFakeAPI(t, recs, "path")
			f.faults, f.retryAfter = tt.faults, tt.retryAfter
			// MaxBackoff (1ms) caps Retry-After, so the hour-long date costs nothing.
			got, err := collect(t.Context(), f.client(t), t0, t0+200_000)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, got, recs)
			if n, _ := f.count(); n != len(tt.faults)+2 {
				t.Errorf("%d requests, want %d", n, len(tt.faults)+2)
			}
		})
	}
}

func TestListRetriesExhausted(t *testing.T) {
	f := newFakeAPI(t, makeRecs(3, t0, 1000), "path")
	f.faults = []int{503, 503, 503, 503, 503}
	_, err := collect(t.Context(), f.client(t, func(o *Options) { o.Attempts = 3 }), t0, t0+10_000)
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), "503") {
		t.Fatalf("got %v, want giving up after 3 attempts with the status", err)
	}
	noSecret(t, err)
	if n, _ := f.count(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestListStatusCodeError(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
	}{
		{"200 with statusCode", `{"statusCode":2,"statusMessage":"Invalid parameter: startTime","recordings":[]}`, 200},
		{"statusCode after recordings", `{"recordings":[],"statusMessage":"Invalid parameter: startTime","statusCode":"2"}`, 200},
		{"400 envelope", `{"statusCode":2,"statusMessage":"Invalid parameter: startTime"}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil, "path")
			f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
				writeJSON(w, tt.status, tt.body)
				return true
			}
			_, err := collect(t.Context(), f.client(t), t0, t0+10_000)
			if err == nil || !strings.Contains(err.Error(), "Invalid parameter: startTime") {
				t.Fatalf("got %v, want the statusMessage", err)
			}
			if n, _ := f.count(); n != 1 {
				t.Errorf("%d requests, want 1 (a deliberate answer is not retried)", n)
			}
		})
	}
}

func TestListBrokenBodiesRetried(t *testing.T) {
	recs := makeRecs(10, t0, 1000)
	page := `{"statusCode":0,"recordings":[` + joinRaw(recs) + `]}`
	tests := []struct {
		name    string
		breakIt func(w http.ResponseWriter)
	}{
		{"connection reset", func(w http.ResponseWriter) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			_ = conn.Close()
		}},
		{"truncated body", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", fmt.Sprint(len(page)))
			w.WriteHeader(200)
			_, _ = w.Write([]byte(page[:len(page)/2]))
			conn, _, _ := http.NewResponseController(w).Hijack()
			_ = conn.Close()
		}},
		{"cut JSON", func(w http.ResponseWriter) { writeJSON(w, 200, page[:len(page)-30]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, recs, "path")
			f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 0 {
					tt.breakIt(w)
					return true
				}
				return false
			}
			got, err := collect(t.Context(), f.client(t), t0, t0+20_000)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, got, recs)
			if n, _ := f.count(); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

func TestListPageTooLarge(t *testing.T) {
	f := newFakeAPI(t, makeRecs(50, t0, 1000), "path")
	_, err := collect(t.Context(), f.client(t, func(o *Options) { o.MaxPageBytes = 4096 }), t0, t0+100_000)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("got %v, want page too large", err)
	}
	if n, _ := f.count(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// Paging is lazy — a page is asked for only once the one before it is
// being handed out, at most one page ahead — and fn's error ends it.
func TestListFnErrorAndLaziness(t *testing.T) {
	recs := makeRecs(250, t0, 1000)
	f := newFakeAPI(t, recs, "path")
	stop := errors.New("stop here")
	calls := 0
	err := f.client(t).List(t.Context(), time.UnixMilli(t0), time.UnixMilli(t0+300_000), func(r Recording) error {
		calls++
		page := (calls-1)/100 + 1
		if pages, _ := f.count(); pages < page || pages > page+1 {
			t.Errorf("recording %d (page %d) delivered after %d page requests, want %d or %d (lazy paging, one page ahead)", calls, page, pages, page, page+1)
		}
		if calls == 150 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("got %v, want fn's own error", err)
	}
	if pages, _ := f.count(); pages < 2 || pages > 3 {
		t.Errorf("%d pages asked, want 2 (or 3 with the page fetched ahead)", pages)
	}
}

// The next page is asked for while this page's recordings are handed out:
// on a distant API its round trip overlaps their downloads instead of
// stalling them.
func TestListFetchesAhead(t *testing.T) {
	recs := makeRecs(250, t0, 1000)
	f := newFakeAPI(t, recs, "path")
	var got []Recording
	err := f.client(t).List(t.Context(), time.UnixMilli(t0), time.UnixMilli(t0+300_000), func(r Recording) error {
		if len(got) == 0 { // page 1's first recording: page 2 must be on its way
			deadline := time.Now().Add(10 * time.Second)
			for pages, _ := f.count(); pages < 2; pages, _ = f.count() {
				if time.Now().After(deadline) {
					return errors.New("page 2 was not asked for while page 1 was handed out")
				}
				time.Sleep(time.Millisecond)
			}
		}
		got = append(got, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, got, recs)
	if pages, _ := f.count(); pages != 3 {
		t.Errorf("%d pages asked, want 3", pages)
	}
}

func TestListInvalidDelivered(t *testing.T) {
	good := makeRecs(2, t0, 1000)
	bad := []string{
		`{"id":"../../etc","startTime":1518462067000}`,
		`{"id":"GOOD0000000000000000000000000001","startTime":1518462067000,"mediaFiles":[{"mediaId":"a/b","size":1}]}`,
		`{"id":"SIZE0000000000000000000000000001","startTime":1518462067000,"mediaFiles":[{"mediaId":"m","size":-5}]}`,
		`{"startTime":1518462067000}`,
		`{"startTime":1518462067001}`,
		`42`,
	}
	f := newFakeAPI(t, nil, "path")
	f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
		writeJSON(w, 200, `{"statusCode":0,"recordings":[`+joinRaw(good)+","+strings.Join(bad, ",")+`]}`)
		return true
	}
	got, err := collect(t.Context(), f.client(t), t0, t0+10_000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(good)+len(bad) {
		t.Fatalf("delivered %d, want %d (invalid ones included)", len(got), len(good)+len(bad))
	}
	for i, r := range got {
		if err := r.Validate(); (err == nil) != (i < len(good)) {
			t.Errorf("recording %d (%s): Validate() = %v", i, r.Raw, err)
		}
		if i >= len(good) && !bytes.Equal(r.Raw, []byte(bad[i-len(good)])) {
			t.Errorf("recording %d: Raw %s, want %s", i, r.Raw, bad[i-len(good)])
		}
	}
}

func TestListCancel(t *testing.T) {
	t.Run("waiting for a page", func(t *testing.T) {
		arrived := make(chan struct{})
		f := newFakeAPI(t, nil, "path")
		f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
			close(arrived)
			<-r.Context().Done()
			return true
		}
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-arrived; cancel() }()
		_, err := collect(ctx, f.client(t), t0, t0+10_000)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
	t.Run("backing off", func(t *testing.T) {
		f := newFakeAPI(t, nil, "path")
		f.faults = []int{503, 503, 503}
		ctx, cancel := context.WithCancel(t.Context())
		c := f.client(t, func(o *Options) { o.BaseBackoff, o.MaxBackoff = time.Hour, time.Hour })
		done := make(chan error, 1)
		go func() { _, err := collect(ctx, c, t0, t0+10_000); done <- err }()
		for n := 0; n == 0; n, _ = f.count() {
			time.Sleep(time.Millisecond) // until the first 503 is served; the retry waits an hour
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

func TestListThroughProxy(t *testing.T) {
	var proxied atomic.Int32
	tr := &http.Transport{} // no proxy: the proxy itself talks straight to the API
	defer tr.CloseIdleConnections()
	// A forward proxy: absolute-form requests only, relayed as they are.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		proxied.Add(1)
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := tr.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	for _, proxyURL := range []string{proxy.URL, strings.TrimPrefix(proxy.URL, "http://")} {
		t.Run(proxyURL, func(t *testing.T) {
			proxied.Store(0)
			recs := makeRecs(250, t0, 1000)
			f := newFakeAPI(t, recs, "path")
			c := f.client(t, func(o *Options) { o.HTTPClient = NewHTTPClient(proxyURL, 5*time.Second) })
			got, err := collect(t.Context(), c, t0, t0+300_000)
			if err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, got, recs)
			if n, _ := f.count(); proxied.Load() != 3 || n != 3 {
				t.Errorf("proxy saw %d requests, API %d; want 3 and 3", proxied.Load(), n)
			}
			f.checkAuthEverywhere(t)
		})
	}
}

// TestListRangeIgnored: a server that ignores startTime/endTime (and caps
// or loops its pages) is told apart from a legacy server that caps its
// answers but honours the range: the first stops with ErrRangeIgnored after
// a few dozen requests instead of splitting a day into ~131k one-second
// ranges; the second is still listed in full by splitting, whatever order
// it answers in.
func TestListRangeIgnored(t *testing.T) {
	spread := makeRecs(100, t0, 60_000)   // one a minute
	crowded := makeRecs(100, t0+5_000, 1) // all within one second
	atStart := makeRecs(100, t0, 0)       // all at the shard's first millisecond
	tests := []struct {
		name        string
		recs        []fakeRec
		legacy      bool // honours the range, caps at one page, ignores offset
		desc        bool
		ignoreRange bool // answers every query with the same page
		wantIgnored bool
	}{
		{"same page always, spread over 100 minutes", spread, false, false, true, true},
		{"same page always, all in one second", crowded, false, false, true, true},
		{"same page always, all at the start", atStart, false, false, true, true},
		{"legacy oldest first", makeRecs(1000, t0, 997), true, false, false, false},
		{"legacy newest first", makeRecs(1000, t0, 997), true, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, tt.recs, "none")
			f.legacy, f.desc = tt.legacy, tt.desc
			if tt.ignoreRange {
				f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
					writeJSON(w, 200, `{"statusCode":0,"recordings":[`+joinRaw(tt.recs)+`]}`)
					return true
				}
			}
			got, err := collect(t.Context(), f.client(t), t0, t0+86_400_000) // a one-day shard
			n, _ := f.count()
			if !tt.wantIgnored {
				if err != nil {
					t.Fatal(err)
				}
				checkExactlyOnce(t, got, tt.recs)
				return
			}
			if !errors.Is(err, ErrRangeIgnored) || !strings.Contains(err.Error(), "the recordings API ignores the time range") {
				t.Fatalf("got %v after %d requests, want ErrRangeIgnored", err, n)
			}
			t.Logf("%d requests: %v", n, err)
			// Splitting a day down to one second is 17 levels of two requests.
			if n > 2*18+2 {
				t.Errorf("%d requests before giving up, want at most %d", n, 2*18+2)
			}
			checkExactlyOnce(t, got, tt.recs) // what came was delivered, once
		})
	}
}

// TestCheckHonoured: the rule on a split half's full first page, recording
// by recording.
func TestCheckHonoured(t *testing.T) {
	const s, e = t0, t0 + 3_600_000
	rec := func(id string, start, stop int64) Recording {
		r, err := DecodeRecording(fmt.Appendf(nil, `{"id":%q,"startTime":%d,"stopTime":%d}`, id, start, stop))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	inside := []Recording{rec("IN1", s, s+1000), rec("IN2", e-1, e+60_000)}
	sibling := map[string]struct{}{"IN1": {}, "IN2": {}}
	tests := []struct {
		name    string
		recs    []Recording
		r       span
		limit   int
		wantErr bool
	}{
		{"inside", inside, span{s: s, e: e, split: true}, 2, false},
		{"starts after the end", append(inside, rec("AFTER", e+1, e+2)), span{s: s, e: e, split: true}, 3, true},
		{"ends before the start", append(inside, rec("BEFORE", s-5000, s-1)), span{s: s, e: e, split: true}, 3, true},
		{"overlaps the start", append(inside, rec("OVERLAP", s-5000, s+1)), span{s: s, e: e, split: true}, 3, false},
		{"starts exactly at the end", append(inside, rec("ATEND", e, e+1)), span{s: s, e: e, split: true}, 3, false},
		{"not a split half", append(inside, rec("AFTER", e+1, e+2)), span{s: s, e: e}, 3, false},
		{"page not full", append(inside, rec("AFTER", e+1, e+2)), span{s: s, e: e, split: true}, 4, false},
		{"undecodable recording", append(inside, Recording{ID: "BAD", invalid: errors.New("bad")}), span{s: s, e: e, split: true}, 3, false},
		{"repeats the sibling's page", inside, span{s: s, e: e, split: true, sibling: sibling}, 2, true},
		{"partly the sibling's", append(inside, rec("NEW", s+5, s+6)), span{s: s, e: e, split: true, sibling: sibling}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &lister{c: &Client{opts: Options{PageLimit: tt.limit}}}
			p := &page{recordings: tt.recs}
			err := l.checkHonoured(p, tt.r, len(p.recordings) >= tt.limit)
			if (err != nil) != tt.wantErr || err != nil && !errors.Is(err, ErrRangeIgnored) {
				t.Errorf("got %v, want an ErrRangeIgnored: %v", err, tt.wantErr)
			}
		})
	}
}

// TestListEmptyPages: empty pages that still name a next page end the
// range after maxEmptyPages of them in a row; a few empty pages between
// full ones are followed.
func TestListEmptyPages(t *testing.T) {
	recs := makeRecs(3, t0, 1000)
	tests := []struct {
		name      string
		pages     func(n int) []fakeRec // the recordings of page n; every page names a next
		wantRecs  int
		wantPages int
	}{
		{"empty forever", func(n int) []fakeRec { return nil }, 0, maxEmptyPages},
		{"data, then empty forever", func(n int) []fakeRec {
			if n == 0 {
				return recs
			}
			return nil
		}, 3, 1 + maxEmptyPages},
		{"a gap of empty pages", func(n int) []fakeRec {
			switch n {
			case 0:
				return recs[:1]
			case maxEmptyPages:
				return recs[1:]
			}
			return nil
		}, 3, 2*maxEmptyPages + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, nil, "path")
			f.override = func(w http.ResponseWriter, r *http.Request, n int) bool {
				writeJSON(w, 200, fmt.Sprintf(`{"statusCode":0,"recordings":[%s],"paging":{"next":"/recordings?page=%d"}}`,
					joinRaw(tt.pages(n)), n+1))
				return true
			}
			got, err := collect(t.Context(), f.client(t), t0, t0+10_000)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := f.count(); len(got) != tt.wantRecs || n != tt.wantPages {
				t.Errorf("delivered %d after %d pages, want %d after %d", len(got), n, tt.wantRecs, tt.wantPages)
			}
		})
	}
}

// TestAny: one request for a page of one, true exactly when the range
// holds a recording; the server's refusal is an error, an empty range asks
// nothing.
func TestAny(t *testing.T) {
	recs := makeRecs(3, t0, 1000) // at t0, t0+1s, t0+2s
	tests := []struct {
		name       string
		start, end int64
		want       bool
		requests   int
	}{
		{"holds one", t0 + 1000, t0 + 1001, true, 1},
		{"holds all", t0 - 1000, t0 + 5000, true, 1},
		{"before", t0 - 5000, t0, false, 1},
		{"after", t0 + 2001, t0 + 9000, false, 1},
		{"empty range", t0, t0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t, recs, "path")
			got, err := f.client(t).Any(t.Context(), time.UnixMilli(tt.start), time.UnixMilli(tt.end))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Any = %v, want %v", got, tt.want)
			}
			if n, _ := f.count(); n != tt.requests {
				t.Errorf("%d requests, want %d", n, tt.requests)
			}
			if tt.requests > 0 {
				want := fmt.Sprintf("startTime=%d&endTime=%d&fields=*&limit=1&offset=0", tt.start, tt.end)
				if len(f.queries) != 1 || f.queries[0] != want {
					t.Errorf("queries %q, want %q", f.queries, want)
				}
			}
			f.checkAuthEverywhere(t)
		})
	}
	t.Run("refused", func(t *testing.T) {
		f := newFakeAPI(t, recs, "path")
		f.faults = []int{http.StatusUnauthorized}
		_, err := f.client(t).Any(t.Context(), time.UnixMilli(t0), time.UnixMilli(t0+1000))
		var ae *AuthError
		if !errors.As(err, &ae) {
			t.Errorf("err %v, want *AuthError", err)
		}
	})
}

package metadata

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test credentials: the password must never show in an error.
const (
	testUser = "alice"
	testPass = "s3cr3t-PW-never-shown"
)

// fakeRec is one recording the fake API serves.
type fakeRec struct {
	id    string
	start int64 // epoch ms
	raw   string
}

// fakeAPI speaks spec §7: Basic auth, Accept: application/json, settings,
// listing with paging as a path, as an absolute URL, or none (offset+limit),
// and a legacy mode that serves only the first page and ignores offset.
type fakeAPI struct {
	recs   []fakeRec // sorted by start
	paging string    // "path", "abs" or "none"
	legacy bool
	desc   bool // newest first, as some servers order their answers
	// faults are the HTTP statuses of the first list requests, in order.
	faults     []int
	retryAfter string
	// override, when set, answers list requests instead of the pager.
	override func(w http.ResponseWriter, r *http.Request, n int) bool

	srv *httptest.Server

	mu       sync.Mutex
	requests int      // list requests
	other    int      // other requests
	bad      []string // requests without the right auth or Accept
	queries  []string
}

func newFakeAPI(t *testing.T, recs []fakeRec, paging string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{recs: recs, paging: paging}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) prefix() string { return f.srv.URL + "/api/v2" }

func (f *fakeAPI) client(t *testing.T, mod ...func(*Options)) *Client {
	t.Helper()
	o := Options{
		Prefix: f.prefix(), Username: testUser, Password: testPass,
		Timeout: 10 * time.Second, Attempts: 4,
		BaseBackoff: time.Microsecond, MaxBackoff: time.Millisecond,
	}
	for _, m := range mod {
		m(&o)
	}
	c, err := NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeAPI) count() (list, other int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.other
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	f.mu.Lock()
	if !ok || u != testUser || p != testPass || r.Header.Get("Accept") != "application/json" || r.Method != http.MethodGet {
		f.bad = append(f.bad, r.Method+" "+r.URL.String())
	}
	list := r.URL.Path == "/api/v2/recordings"
	n := f.requests
	if list {
		f.requests++
		f.queries = append(f.queries, r.URL.RawQuery)
	} else {
		f.other++
	}
	f.mu.Unlock()
	if !list {
		http.NotFound(w, r)
		return
	}
	if n < len(f.faults) {
		if f.retryAfter != "" {
			w.Header().Set("Retry-After", f.retryAfter)
		}
		writeJSON(w, f.faults[n], `{"statusCode":1,"statusMessage":"injected fault"}`)
		return
	}
	if f.override != nil && f.override(w, r, n) {
		return
	}
	f.servePage(w, r)
}

func (f *fakeAPI) servePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s, err1 := strconv.ParseInt(q.Get("startTime"), 10, 64)
	e, err2 := strconv.ParseInt(q.Get("endTime"), 10, 64)
	limit, err3 := strconv.Atoi(q.Get("limit"))
	offset, err4 := strconv.Atoi(q.Get("offset"))
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || q.Get("fields") != "*" || limit <= 0 {
		writeJSON(w, http.StatusBadRequest, `{"statusCode":2,"statusMessage":"bad query"}`)
		return
	}
	var sel []string
	for _, rec := range f.recs {
		if s <= rec.start && rec.start < e {
			sel = append(sel, rec.raw)
		}
	}
	if f.desc {
		slices.Reverse(sel)
	}
	if f.legacy {
		offset = 0
	}
	lo, hi := min(offset, len(sel)), min(offset+limit, len(sel))
	body := `{"statusCode":0,"recordings":[` + strings.Join(sel[lo:hi], ",") + `]`
	if f.paging != "none" {
		next := ""
		if !f.legacy && hi < len(sel) {
			next = fmt.Sprintf("/recordings?startTime=%d&endTime=%d&fields=*&limit=%d&offset=%d", s, e, limit, hi)
			if f.paging == "abs" {
				next = f.prefix() + next
			}
		}
		body += fmt.Sprintf(`,"paging":{"offset":%d,"limit":%d,"next":%q}`, offset, limit, next)
		if next == "" {
			body = strings.Replace(body, `,"next":""`, "", 1)
		}
	}
	writeJSON(w, http.StatusOK, body+"}")
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// makeRecs makes n recordings starting at startMs, stepMs apart, each with
// one S3 media file and an unknown key, in the vendor's time layout.
func makeRecs(n int, startMs, stepMs int64) []fakeRec {
	recs := make([]fakeRec, n)
	for i := range recs {
		ms := startMs + int64(i)*stepMs
		id := fmt.Sprintf("REC%029d", i)
		t := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000-0700")
		recs[i] = fakeRec{id: id, start: ms, raw: fmt.Sprintf(
			`{"id":%q,"startTime":%q,"stopTime":%d,"callerPhoneNumber":"+15551234","mediaFiles":[{"mediaId":"%s_1.mp3","type":"audio/mp3","size":"%d","duration":"60000","mediaDescriptor":{"storage":"awsS3","data":{"bucket":"bkt"},"path":"rec/%s/1.mp3"}}],"x-unknown":{"k":[1,2.50,"\u00e9"]}}`,
			id, t, ms+60000, id, 1000+i, id)}
	}
	return recs
}

// collect lists [start, end) and returns what fn received.
func collect(ctx context.Context, c *Client, start, end int64) ([]Recording, error) {
	var got []Recording
	err := c.List(ctx, time.UnixMilli(start), time.UnixMilli(end), func(r Recording) error {
		got = append(got, r)
		return nil
	})
	return got, err
}

// checkExactlyOnce fails unless got holds every rec of want exactly once.
func checkExactlyOnce(t *testing.T, got []Recording, want []fakeRec) {
	t.Helper()
	n := map[string]int{}
	for _, r := range got {
		n[r.ID]++
	}
	for _, w := range want {
		if n[w.id] != 1 {
			t.Errorf("recording %s delivered %d times, want 1", w.id, n[w.id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("delivered %d recordings, want %d", len(got), len(want))
	}
}

// noSecret fails if err's message shows the password.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testPass) {
		t.Errorf("error shows the password: %v", err)
	}
}

// checkAuthEverywhere fails if any request lacked auth or Accept.
func (f *fakeAPI) checkAuthEverywhere(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bad) > 0 {
		t.Errorf("requests without Basic auth / Accept: %v", f.bad)
	}
}

// rawOf is a fakeRec's JSON, for comparisons.
func rawOf(recs []fakeRec) map[string]string {
	m := make(map[string]string, len(recs))
	for _, r := range recs {
		m[r.id] = r.raw
	}
	return m
}

package cloudsim

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

var testStart = time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)

// startCloud runs a cloud for the test. Media are plaintext unless the
// options say otherwise, so that tests not about encryption need no key.
func startCloud(t testing.TB, o Options) *Cloud {
	t.Helper()
	c := newCloud(t, o)
	if err := c.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return c
}

func plain(o Options) Options { o.UnencryptedShare = 1; return o }

type reply struct {
	status int
	header http.Header
	body   []byte
}

func get(t testing.TB, url, user, pass string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return reply{resp.StatusCode, resp.Header, b}
}

type page struct {
	StatusCode    int               `json:"statusCode"`
	StatusMessage string            `json:"statusMessage"`
	Recordings    []json.RawMessage `json:"recordings"`
	Paging        *struct {
		Offset int     `json:"offset"`
		Limit  int     `json:"limit"`
		Next   *string `json:"next"`
	} `json:"paging"`
}

func decodePage(t testing.TB, b []byte) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decode page: %v\n%s", err, b)
	}
	return p
}

func ids(t testing.TB, raws []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, r := range raws {
		var rec struct{ ID string }
		if err := json.Unmarshal(r, &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec.ID)
	}
	return out
}

// walk lists [start, end) as a client does: follow paging.next while
// present; without paging, step offset while pages come back full.
func walk(t testing.TB, c *Cloud, start, end time.Time, limit int) []string {
	t.Helper()
	url := fmt.Sprintf("%s/recordings?startTime=%d&endTime=%d&fields=*&limit=%d&offset=0", c.APIURL(), start.UnixMilli(), end.UnixMilli(), limit)
	var got []string
	for offset := 0; ; {
		r := get(t, url, "", "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", url, r.status, r.body)
		}
		p := decodePage(t, r.body)
		got = append(got, ids(t, p.Recordings)...)
		switch {
		case p.Paging != nil && p.Paging.Next != nil:
			next := *p.Paging.Next
			if strings.HasPrefix(next, "/") {
				next = c.APIURL() + next
			}
			url = next
		case p.Paging == nil && len(p.Recordings) == limit:
			offset += limit
			url = fmt.Sprintf("%s/recordings?startTime=%d&endTime=%d&fields=*&limit=%d&offset=%d", c.APIURL(), start.UnixMilli(), end.UnixMilli(), limit, offset)
		default:
			return got
		}
		if len(got) > 10_000 {
			t.Fatal("listing does not end")
		}
	}
}

func wantIDs(c *Cloud, start, end time.Time) []string {
	var out []string
	for _, r := range c.Recordings() {
		if !r.StartTime.Before(start) && r.StartTime.Before(end) {
			out = append(out, r.ID)
		}
	}
	return out
}

func TestListingPartitionsWindow(t *testing.T) {
	for _, mode := range []string{PagingPath, PagingAbsolute, PagingNone} {
		t.Run(mode, func(t *testing.T) {
			c := startCloud(t, plain(Options{Recordings: 400, Seed: 7, Paging: mode}))
			o := c.Options()
			r := rand.New(rand.NewPCG(1, 2))
			span := o.End.Sub(o.Start).Milliseconds()
			for i := range 40 {
				a := o.Start.Add(time.Duration(r.Int64N(span+20_000)-10_000) * time.Millisecond)
				b := a.Add(time.Duration(r.Int64N(span/2)+1) * time.Millisecond)
				if i == 0 {
					a, b = o.Start, o.End // the whole window, boundaries included
				}
				limit := 1 + r.IntN(60)
				got, want := walk(t, c, a, b, limit), wantIDs(c, a, b)
				if !slices.Equal(got, want) {
					t.Fatalf("window [%v, %v) limit %d: got %d IDs, want %d (in order, each once)", a, b, limit, len(got), len(want))
				}
				if i == 0 && len(got) != 400 {
					t.Fatalf("whole window listed %d of 400", len(got))
				}
			}
		})
	}
}

func TestListingBoundaries(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 30, Seed: 3}))
	recs := c.Recordings()
	r := recs[10]
	// start ≤ startTime < end: a window starting at a recording includes it,
	// one ending at it excludes it.
	if got := walk(t, c, r.StartTime, r.StartTime.Add(time.Millisecond), 100); !slices.Contains(got, r.ID) {
		t.Errorf("window starting at %v misses %s", r.StartTime, r.ID)
	}
	if got := walk(t, c, r.StartTime.Add(-time.Hour), r.StartTime, 100); slices.Contains(got, r.ID) {
		t.Errorf("window ending at %v includes %s", r.StartTime, r.ID)
	}
}

func TestListingNextShapes(t *testing.T) {
	for _, tc := range []struct {
		mode, prefix string
		paging       bool
	}{
		{PagingPath, "/recordings?startTime=", true},
		{PagingAbsolute, "http://127.0.0.1:", true},
		{PagingNone, "", false},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c := startCloud(t, plain(Options{Recordings: 5, Seed: 1, Paging: tc.mode}))
			o := c.Options()
			p := decodePage(t, get(t, fmt.Sprintf("%s/recordings?startTime=%d&endTime=%d&fields=*&limit=2", c.APIURL(), o.Start.UnixMilli(), o.End.UnixMilli()), "", "").body)
			if (p.Paging != nil) != tc.paging {
				t.Fatalf("paging present = %v, want %v", p.Paging != nil, tc.paging)
			}
			if tc.paging && (p.Paging.Next == nil || !strings.HasPrefix(*p.Paging.Next, tc.prefix) || !strings.Contains(*p.Paging.Next, "offset=2")) {
				t.Fatalf("next = %v, want prefix %q and offset=2", p.Paging.Next, tc.prefix)
			}
		})
	}
}

func TestLegacyCap(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 250, Seed: 5, LegacyCap: true}))
	o := c.Options()
	all := wantIDs(c, o.Start, o.End)
	var first []string
	for _, offset := range []int{0, 100, 200} {
		url := fmt.Sprintf("%s/recordings?startTime=%d&endTime=%d&fields=*&limit=100&offset=%d", c.APIURL(), o.Start.UnixMilli(), o.End.UnixMilli(), offset)
		p := decodePage(t, get(t, url, "", "").body)
		got := ids(t, p.Recordings)
		if p.Paging != nil && p.Paging.Next != nil {
			t.Errorf("offset %d: legacy server gave paging.next %q", offset, *p.Paging.Next)
		}
		if !slices.Equal(got, all[:100]) {
			t.Fatalf("offset %d: got %d IDs, want the query's first 100 (offset ignored)", offset, len(got))
		}
		first = got
	}
	// A narrower query is capped at its own first 100.
	mid := c.Recordings()[120].StartTime
	p := decodePage(t, get(t, fmt.Sprintf("%s/recordings?startTime=%d&endTime=%d&limit=100", c.APIURL(), mid.UnixMilli(), o.End.UnixMilli()), "", "").body)
	if got := ids(t, p.Recordings); len(got) != 100 || got[0] == first[0] {
		t.Fatalf("narrow query: %d IDs starting %v", len(got), got[:1])
	}
}

func TestAuth(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 2, Username: "agent", Password: "s3cret"}))
	open := startCloud(t, plain(Options{Recordings: 2}))
	for _, tc := range []struct {
		name       string
		c          *Cloud
		user, pass string
		want       int
	}{
		{"no credentials", c, "", "", 401},
		{"wrong user", c, "agent2", "s3cret", 401},
		{"wrong password", c, "agent", "s3cre", 401},
		{"right", c, "agent", "s3cret", 200},
		{"open cloud, none", open, "", "", 200},
		{"open cloud, any", open, "x", "y", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/me/settings/rcbs", "/recordings?startTime=0&endTime=1"} {
				r := get(t, tc.c.APIURL()+path, tc.user, tc.pass)
				if r.status != tc.want {
					t.Fatalf("%s: status %d, want %d", path, r.status, tc.want)
				}
				var env struct{ StatusCode int }
				if err := json.Unmarshal(r.body, &env); err != nil {
					t.Fatalf("%s: body not JSON: %s", path, r.body)
				}
				if (tc.want == 401) != (env.StatusCode != 0) {
					t.Fatalf("%s: statusCode %d with HTTP %d", path, env.StatusCode, r.status)
				}
				if tc.want == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Fatalf("%s: 401 without WWW-Authenticate", path)
				}
			}
		})
	}
	if got := c.Stats().Unauthorized; got != 6 {
		t.Errorf("Stats.Unauthorized = %d, want 6", got)
	}
}

func TestSettings(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 1, Region: "eu-west-1", Bucket: "tenant-bucket"}))
	r := get(t, c.APIURL()+"/me/settings/rcbs", "", "")
	want := `{"statusCode":0,"settings":{"awsRegion":"eu-west-1","s3Bucket":"tenant-bucket"}}`
	if r.status != 200 || string(r.body) != want {
		t.Fatalf("settings: %d %s, want 200 %s", r.status, r.body, want)
	}
	none := startCloud(t, plain(Options{Recordings: 1, NoSettings: true}))
	if r := get(t, none.APIURL()+"/me/settings/rcbs", "", ""); r.status != 404 {
		t.Fatalf("NoSettings: status %d, want 404", r.status)
	}
	if s := c.Stats(); s.Settings != 1 || s.NoAcceptJSON != 0 {
		t.Errorf("Stats = %+v, want 1 settings request with Accept", s)
	}
}

func TestBadListingParams(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 1}))
	for _, q := range []string{
		"",
		"startTime=0",
		"endTime=5",
		"startTime=x&endTime=5",
		"startTime=0&endTime=2018-01-01",
		"startTime=10&endTime=5",
		"startTime=0&endTime=5&limit=0",
		"startTime=0&endTime=5&limit=abc",
		"startTime=0&endTime=5&offset=-1",
	} {
		r := get(t, c.APIURL()+"/recordings?"+q, "", "")
		var env struct {
			StatusCode    int
			StatusMessage string
		}
		json.Unmarshal(r.body, &env)
		if r.status != 400 || env.StatusCode == 0 || env.StatusMessage == "" {
			t.Errorf("?%s: %d %s, want 400 with statusCode and statusMessage", q, r.status, r.body)
		}
	}
	if r := get(t, c.APIURL()+"/nope", "", ""); r.status != 404 {
		t.Errorf("unknown route: %d", r.status)
	}
}

func TestAPIMedia(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 30, Seed: 2, APIMediaShare: 1, Username: "u", Password: "p"}))
	var uris, paths int
	for _, rec := range c.Recordings() {
		var doc apiRecording
		if err := json.Unmarshal(rec.JSON, &doc); err != nil {
			t.Fatal(err)
		}
		for i, m := range doc.MediaFiles {
			url := m.MediaURI
			if url == "" {
				url, paths = c.APIURL()+m.MediaPath, paths+1
			} else {
				uris++
			}
			if m.MediaDescriptor != nil || (m.MediaURI == "") == (m.MediaPath == "") {
				t.Fatalf("%s: want exactly one of mediaUri/mediaPath and no descriptor: %+v", m.MediaID, m)
			}
			if r := get(t, url, "", ""); r.status != 401 {
				t.Fatalf("media without auth: %d", r.status)
			}
			r := get(t, url, "u", "p")
			if r.status != 200 || sha256.Sum256(r.body) != rec.Media[i].SHA256 {
				t.Fatalf("GET %s: %d, %d bytes, sha mismatch", url, r.status, len(r.body))
			}
		}
	}
	if uris == 0 || paths == 0 {
		t.Errorf("mediaUri %d, mediaPath %d: want both kinds", uris, paths)
	}
}

func TestAddIsListedConcurrently(t *testing.T) {
	c := startCloud(t, plain(Options{Recordings: 20, Seed: 9}))
	o := c.Options()
	done := make(chan error)
	go func() {
		done <- c.Add(50, o.Start, o.End)
	}()
	for range 5 {
		walk(t, c, o.Start, o.End, 7) // listing while Add runs: -race checks the locking
	}
	if err := <-done; err != nil {
		t.Fatalf("Add: %v", err)
	}
	if got := walk(t, c, o.Start, o.End, 100); len(got) != 70 {
		t.Fatalf("after Add: %d listed, want 70", len(got))
	}
	if err := c.Add(1, o.End, o.Start); err == nil {
		t.Fatal("Add with start after end: no error")
	}
}

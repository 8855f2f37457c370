package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type testPage struct {
	StatusCode int               `json:"statusCode"`
	Recordings []json.RawMessage `json:"recordings"`
	Paging     struct {
		Next string `json:"next"`
	} `json:"paging"`
}

func getPage(t *testing.T, url, user, pass string) (int, testPage) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p testPage
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
	return resp.StatusCode, p
}

// walk follows paging.next from the first page of [s, e) and returns the
// IDs in the order served.
func walk(t *testing.T, srv string, s, e int64, limit int) []string {
	t.Helper()
	var ids []string
	u := fmt.Sprintf("%s%s/recordings?startTime=%d&endTime=%d&fields=*&limit=%d", srv, APIPrefix, s, e, limit)
	for pages := 0; u != ""; pages++ {
		if pages > 10000 {
			t.Fatal("paging does not end")
		}
		code, p := getPage(t, u, "u", "p")
		if code != http.StatusOK || p.StatusCode != 0 {
			t.Fatalf("GET %s: %d / %d", u, code, p.StatusCode)
		}
		for _, raw := range p.Recordings {
			var r struct{ ID string }
			_ = json.Unmarshal(raw, &r)
			ids = append(ids, r.ID)
		}
		u = ""
		if p.Paging.Next != "" {
			u = srv + APIPrefix + p.Paging.Next
		}
	}
	return ids
}

func TestListingPartitionsWindows(t *testing.T) {
	w, _ := Standard("c", false, 1000)
	api := &API{W: w, Username: "u", Password: "p"}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	r := rand.New(rand.NewPCG(1, 2))
	s0, e0 := w.Start.UnixMilli(), w.End().UnixMilli()
	for range 30 {
		s := s0 - 1000 + r.Int64N(e0-s0+2000)
		e := s + r.Int64N(e0-s0)
		limit := 1 + r.IntN(150)
		got := walk(t, srv.URL, s, e, limit)
		var want []string
		for i := range w.Recordings {
			if st := w.Recording(i).Start.UnixMilli(); st >= s && st < e {
				want = append(want, w.Recording(i).ID)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("[%d, %d) limit %d: %d recordings served, want %d (or order differs)", s, e, limit, len(got), len(want))
		}
	}
}

func TestAPIAuthAndStats(t *testing.T) {
	w, _ := Standard("a", true, 0)
	api := &API{W: w, Username: "u", Password: "p"}
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	list := fmt.Sprintf("%s%s/recordings?startTime=%d&endTime=%d", srv.URL, APIPrefix, w.Start.UnixMilli(), w.End().UnixMilli())
	tests := []struct {
		url, user, pass string
		code, status    int
	}{
		{list, "u", "wrong", 401, 401},
		{list, "", "", 401, 401},
		{list, "u", "p", 200, 0},
		{srv.URL + APIPrefix + "/recordings?startTime=x&endTime=1", "u", "p", 400, 400},
		{srv.URL + APIPrefix + "/me/settings/rcbs", "u", "p", 200, 0},
		{srv.URL + APIPrefix + "/nowhere", "u", "p", 404, 404},
	}
	for _, tc := range tests {
		if code, p := getPage(t, tc.url, tc.user, tc.pass); code != tc.code || p.StatusCode != tc.status {
			t.Errorf("GET %s as %q: %d/%d, want %d/%d", tc.url, tc.user, code, p.StatusCode, tc.code, tc.status)
		}
	}
	want := APIStats{Settings: 1, Listings: 2, Recordings: 100, Unauthorized: 2, Other: 1}
	if got := api.Stats(); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestListingEmptyAndReversedRanges(t *testing.T) {
	w, _ := Standard("a", true, 0)
	srv := httptest.NewServer((&API{W: w}).Handler())
	defer srv.Close()
	before := w.Start.Add(-time.Hour).UnixMilli()
	for _, r := range [][2]int64{{before, w.Start.UnixMilli()}, {w.End().UnixMilli(), before}} {
		if ids := walk(t, srv.URL, r[0], r[1], 100); len(ids) != 0 {
			t.Errorf("[%d, %d): %d recordings, want none", r[0], r[1], len(ids))
		}
	}
}

package bench

import (
	"bufio"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// APIPrefix is the path of the recordings API under the server's root; the
// gwsUriPrefix is http://HOST:PORT + APIPrefix.
const APIPrefix = "/api/v2"

// APIStats counts the requests an API has answered, for the (d) re-run
// workload's "requests made" column.
type APIStats struct {
	Settings     int64 `json:"settings"`
	Listings     int64 `json:"listings"`
	Recordings   int64 `json:"recordings"` // recordings sent in listing pages
	Unauthorized int64 `json:"unauthorized"`
	Other        int64 `json:"other"` // anything else, answered 404 or 400
}

// API serves a workload's metadata as the vendor's recordings API (spec §7):
// settings, and listings by time range paged with paging.next as a path.
// Pages are rendered on demand, so memory does not grow with the workload.
// Safe for concurrent use.
type API struct {
	W                  Workload
	Username, Password string // Basic auth demanded; both empty: none
	Region             string // settings' awsRegion; default us-east-1

	settings, listings, recordings, unauthorized, other atomic.Int64
}

// Stats returns the counts so far.
func (a *API) Stats() APIStats {
	return APIStats{Settings: a.settings.Load(), Listings: a.listings.Load(), Recordings: a.recordings.Load(),
		Unauthorized: a.unauthorized.Load(), Other: a.other.Load()}
}

// Handler routes APIPrefix/me/settings/rcbs, APIPrefix/recordings, and
// /stats (the counts as JSON, without auth: it is the harness's, not rcbs's).
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, a.Stats()) })
	mux.Handle("GET "+APIPrefix+"/me/settings/rcbs", a.authed(a.serveSettings))
	mux.Handle("GET "+APIPrefix+"/recordings", a.authed(a.serveListing))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		a.other.Add(1)
		writeStatus(w, http.StatusNotFound, 404, "no such resource")
	})
	return mux
}

func (a *API) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Username == "" && a.Password == "" {
			h(w, r)
			return
		}
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+"\x00"+p), []byte(a.Username+"\x00"+a.Password)) != 1 {
			a.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="recordings"`)
			writeStatus(w, http.StatusUnauthorized, 401, "unauthorized")
			return
		}
		h(w, r)
	})
}

func (a *API) serveSettings(w http.ResponseWriter, r *http.Request) {
	a.settings.Add(1)
	region := a.Region
	if region == "" {
		region = "us-east-1"
	}
	writeJSON(w, http.StatusOK, map[string]any{"statusCode": 0,
		"settings": map[string]string{"awsRegion": region, "s3Bucket": a.W.Bucket}})
}

// listQuery is a parsed listing request.
type listQuery struct {
	start, end    int64 // epoch ms
	limit, offset int
}

func parseList(q url.Values) (listQuery, error) {
	lq := listQuery{limit: 100}
	var err error
	if lq.start, err = strconv.ParseInt(q.Get("startTime"), 10, 64); err != nil {
		return lq, fmt.Errorf("startTime: want epoch milliseconds")
	}
	if lq.end, err = strconv.ParseInt(q.Get("endTime"), 10, 64); err != nil {
		return lq, fmt.Errorf("endTime: want epoch milliseconds")
	}
	if v := q.Get("limit"); v != "" {
		if lq.limit, err = strconv.Atoi(v); err != nil || lq.limit < 1 || lq.limit > 1000 {
			return lq, fmt.Errorf("limit: want 1..1000")
		}
	}
	if v := q.Get("offset"); v != "" {
		if lq.offset, err = strconv.Atoi(v); err != nil || lq.offset < 0 {
			return lq, fmt.Errorf("offset: want ≥ 0")
		}
	}
	return lq, nil
}

func (a *API) serveListing(w http.ResponseWriter, r *http.Request) {
	a.listings.Add(1)
	lq, err := parseList(r.URL.Query())
	if err != nil {
		writeStatus(w, http.StatusBadRequest, 400, err.Error())
		return
	}
	lo := a.W.IndexAt(time.UnixMilli(lq.start).UTC())
	hi := a.W.IndexAt(time.UnixMilli(lq.end).UTC())
	from := min(lo+lq.offset, max(hi, lo))
	to := min(from+lq.limit, max(hi, lo))
	a.recordings.Add(int64(to - from))
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64*KiB)
	if err := a.writePage(bw, lq, from, to, to < hi); err != nil {
		return // headers are gone: an unfinished body is what the client sees
	}
	_ = bw.Flush() // the client hung up: nothing left to tell it
}

func (a *API) writePage(bw *bufio.Writer, lq listQuery, from, to int, more bool) error {
	bw.WriteString(`{"statusCode":0,"recordings":[`)
	for i := from; i < to; i++ {
		if i > from {
			bw.WriteByte(',')
		}
		b, err := a.W.Recording(i).JSON(a.W.Bucket)
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	fmt.Fprintf(bw, `],"paging":{"offset":%d,"limit":%d`, lq.offset, lq.limit)
	if more {
		next := fmt.Sprintf("/recordings?startTime=%d&endTime=%d&fields=*&limit=%d&offset=%d",
			lq.start, lq.end, lq.limit, lq.offset+lq.limit)
		nb, _ := json.Marshal(next) // a string always marshals
		bw.WriteString(`,"next":`)
		bw.Write(nb)
	}
	_, err := bw.WriteString("}}")
	return err
}

func writeStatus(w http.ResponseWriter, httpStatus, code int, msg string) {
	writeJSON(w, httpStatus, map[string]any{"statusCode": code, "statusMessage": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client left
}

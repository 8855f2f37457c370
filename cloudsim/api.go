package cloudsim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// apiPrefix is where the recordings API lives on its server.
const apiPrefix = "/api/v2"

// GWS statusCode values (the vendor's "Return Values" table).
const (
	statusOK               = 0
	statusMissingParam     = 1
	statusInvalidParam     = 2
	statusInternalError    = 4
	statusNotFound         = 6
	statusNotAuthenticated = 20
)

// Paging modes of the listing (Options.Paging).
const (
	PagingPath     = "path"     // paging.next is a path under the prefix: /recordings?...
	PagingAbsolute = "absolute" // paging.next is an absolute URL
	PagingNone     = "none"     // no paging object: the client must step offset itself
)

// legacyCap is how many results a legacy server returns for any query.
const legacyCap = 100

type envelope struct {
	StatusCode    int          `json:"statusCode"`
	StatusMessage string       `json:"statusMessage,omitempty"`
	Settings      *settingsDoc `json:"settings,omitempty"`
}

// listingDoc is a page of recordings; recordings is [] when none match.
type listingDoc struct {
	StatusCode int               `json:"statusCode"`
	Recordings []json.RawMessage `json:"recordings"`
	Paging     *pagingDoc        `json:"paging,omitempty"`
}

type settingsDoc struct {
	AWSRegion string `json:"awsRegion"`
	S3Bucket  string `json:"s3Bucket"`
}

type pagingDoc struct {
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
	Next   string `json:"next,omitempty"`
}

// apiHandler serves the recordings API under /api/v2.
func (c *Cloud) apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+apiPrefix+"/me/settings/rcbs", c.apiRoute(&c.stats.settings, true, c.serveSettings))
	mux.Handle("GET "+apiPrefix+"/recordings", c.apiRoute(&c.stats.listings, true, c.serveListing))
	mux.Handle("GET "+apiPrefix+"/recordings/{id}/media/{mediaId}", c.apiRoute(&c.stats.media, false, c.serveMedia))
	mux.Handle("/", c.apiRoute(&c.stats.notFound, true, func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, r, http.StatusNotFound, statusNotFound, "no such resource: "+r.URL.Path)
	}))
	return mux
}

type counter interface{ Add(int64) int64 }

// apiRoute wraps a route with what every API request goes through: the
// count, the latency and faults, then Basic auth and the Accept check.
func (c *Cloud) apiRoute(n counter, isJSON bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		c.apiFaults.sleep(r.Context())
		never := c.apiFaults.isNever(r.PathValue("id"), r.PathValue("mediaId"))
		kind := c.apiFaults.decide(r.URL.RequestURI(), never)
		serveFault(c.apiFaults, w, r, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !c.authorized(r) {
				c.stats.unauthorized.Add(1)
				w.Header().Set("WWW-Authenticate", `Basic realm="rcbs simulated recording cloud"`)
				writeStatus(w, r, http.StatusUnauthorized, statusNotAuthenticated, "User is not authenticated")
				return
			}
			if isJSON && !c.acceptsJSON(r) {
				writeStatus(w, r, http.StatusNotAcceptable, statusInvalidParam, "this resource is application/json")
				return
			}
			h(w, r)
		}), kind, func(status int) (string, []byte) {
			b, _ := json.Marshal(envelope{StatusCode: statusInternalError, StatusMessage: fmt.Sprintf("simulated fault (HTTP %d)", status)})
			return "application/json;charset=UTF-8", b
		})
	})
}

func (c *Cloud) authorized(r *http.Request) bool {
	if c.opts.Username == "" && c.opts.Password == "" {
		return true
	}
	u, p, ok := r.BasicAuth()
	userOK := subtle.ConstantTimeCompare([]byte(u), []byte(c.opts.Username)) == 1
	passOK := subtle.ConstantTimeCompare([]byte(p), []byte(c.opts.Password)) == 1
	return ok && userOK && passOK
}

// acceptsJSON refuses (406) only an Accept header that excludes JSON; a
// missing one is let through (curl) but counted, so tests can check that
// rcbs sends it.
func (c *Cloud) acceptsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if !strings.Contains(accept, "application/json") {
		c.stats.noAcceptJSON.Add(1)
	}
	if accept == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch mt {
		case "application/json", "application/*", "*/*":
			return true
		}
	}
	return false
}

func (c *Cloud) serveSettings(w http.ResponseWriter, r *http.Request) {
	if c.opts.NoSettings {
		writeStatus(w, r, http.StatusNotFound, statusNotFound, "no RCBS settings for this tenant")
		return
	}
	writeJSON(w, r, http.StatusOK, envelope{Settings: &settingsDoc{AWSRegion: c.opts.Region, S3Bucket: c.opts.Bucket}})
}

// listQuery is a parsed listing request.
type listQuery struct {
	start, end    time.Time
	limit, offset int
	fields        string
}

func parseListQuery(q url.Values) (listQuery, int, string) {
	var lq listQuery
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"startTime", &lq.start}, {"endTime", &lq.end}} {
		v := q.Get(p.name)
		if v == "" {
			return lq, statusMissingParam, p.name + " is required (epoch milliseconds)"
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return lq, statusInvalidParam, fmt.Sprintf("%s: not epoch milliseconds: %q", p.name, v)
		}
		*p.into = time.UnixMilli(ms)
	}
	if lq.end.Before(lq.start) {
		return lq, statusInvalidParam, "endTime is before startTime"
	}
	var code int
	var msg string
	lq.limit, code, msg = intParam(q, "limit", 100, 1, 1000)
	if code != statusOK {
		return lq, code, msg
	}
	lq.offset, code, msg = intParam(q, "offset", 0, 0, 1<<31-1)
	lq.fields = q.Get("fields")
	return lq, code, msg
}

func intParam(q url.Values, name string, def, lo, hi int) (int, int, string) {
	v := q.Get(name)
	if v == "" {
		return def, statusOK, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, statusInvalidParam, fmt.Sprintf("%s: want an integer in %d..%d, got %q", name, lo, hi, v)
	}
	return n, statusOK, ""
}

// serveListing answers GET /recordings: recordings with
// startTime ≤ t < endTime, oldest first, one page of them.
func (c *Cloud) serveListing(w http.ResponseWriter, r *http.Request) {
	lq, code, msg := parseListQuery(r.URL.Query())
	if code != statusOK {
		writeStatus(w, r, http.StatusBadRequest, code, msg)
		return
	}
	if c.opts.LegacyCap {
		lq.offset, lq.limit = 0, min(lq.limit, legacyCap)
	}
	page, total := c.page(lq)
	env := listingDoc{Recordings: page}
	if !c.opts.LegacyCap && c.opts.Paging != PagingNone {
		env.Paging = &pagingDoc{Offset: lq.offset, Limit: lq.limit}
		if lq.offset+lq.limit < total {
			env.Paging.Next = c.nextLink(r, lq)
		}
	}
	writeJSON(w, r, http.StatusOK, env)
}

// page returns the JSON of one page of the query and the query's total.
func (c *Cloud) page(lq listQuery) ([]json.RawMessage, int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	at := func(t time.Time) int {
		return sort.Search(len(c.recs), func(i int) bool { return !c.recs[i].pub.StartTime.Before(t) })
	}
	lo, hi := at(lq.start), at(lq.end)
	from, to := min(lo+lq.offset, hi), min(lo+lq.offset+lq.limit, hi)
	out := []json.RawMessage{}
	for _, rec := range c.recs[from:to] {
		out = append(out, rec.pub.JSON)
	}
	return out, hi - lo
}

// nextLink is paging.next: a path under the prefix, or with
// PagingAbsolute the full URL on the host the client asked.
func (c *Cloud) nextLink(r *http.Request, lq listQuery) string {
	fields := lq.fields
	if fields == "" {
		fields = "*"
	}
	p := fmt.Sprintf("/recordings?startTime=%d&endTime=%d&fields=%s&limit=%d&offset=%d",
		lq.start.UnixMilli(), lq.end.UnixMilli(), url.QueryEscape(fields), lq.limit, lq.offset+lq.limit)
	p = strings.ReplaceAll(p, "fields=%2A", "fields=*")
	if c.opts.Paging == PagingAbsolute {
		return "http://" + r.Host + apiPrefix + p
	}
	return p
}

// serveMedia serves a media file that has no S3 descriptor.
func (c *Cloud) serveMedia(w http.ResponseWriter, r *http.Request) {
	c.mu.RLock()
	bl := c.apiMedia[r.PathValue("id")+"/"+r.PathValue("mediaId")]
	c.mu.RUnlock()
	if bl == nil {
		writeStatus(w, r, http.StatusNotFound, statusNotFound, "no such media")
		return
	}
	rc, err := bl.open()
	if err != nil {
		writeStatus(w, r, http.StatusInternalServerError, statusInternalError, "media unreadable")
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", time.Time{}, rc)
}

func writeStatus(w http.ResponseWriter, r *http.Request, httpStatus, code int, msg string) {
	writeJSON(w, r, httpStatus, envelope{StatusCode: code, StatusMessage: msg})
}

// writeJSON always sends a Content-Length, so that a truncated body is
// visible as one.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"statusCode":4,"statusMessage":"encode failed"}`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

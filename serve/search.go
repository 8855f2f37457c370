package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// Search page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func (s *Server) apiRoutes() []Route {
	return []Route{{"POST /search/", "search", s.search}}
}

// searchRequest is POST /search/'s body (spec §12); every field optional.
type searchRequest struct {
	Token     string    `json:"token"`
	ID        string    `json:"id"`
	From      timeValue `json:"from"`
	To        timeValue `json:"to"`
	Agent     string    `json:"agent"`
	ANI       string    `json:"ani"`
	DNIS      string    `json:"dnis"`
	Direction string    `json:"direction"`
	Limit     int       `json:"limit"`
	Cursor    string    `json:"cursor"`
}

// timeValue is an RFC 3339 time or epoch milliseconds (string or number).
type timeValue struct{ time.Time }

func (t *timeValue) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	if s == "" {
		return nil
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		t.Time = time.UnixMilli(ms).UTC()
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("want an RFC 3339 time or epoch milliseconds, got %q", s)
	}
	t.Time = v.UTC()
	return nil
}

// SearchResult is one recording of a search answer.
type SearchResult struct {
	ID         string        `json:"id"`
	StartTime  string        `json:"startTime"`
	StopTime   string        `json:"stopTime"`
	DurationMs int64         `json:"durationMs"`
	Direction  string        `json:"direction"`
	ANI        string        `json:"ani"`
	DNIS       string        `json:"dnis"`
	Agents     []string      `json:"agents"`
	Media      []MediaResult `json:"media"`
	Zip        string        `json:"zip"`
	Metadata   string        `json:"metadata"`
}

// MediaResult is one media of a result, with its signed link.
type MediaResult struct {
	MediaID string `json:"mediaId"`
	Type    string `json:"type"`
	Size    int64  `json:"size"`
	URL     string `json:"url"`
	Expires string `json:"expires"`
}

// SearchAnswer is POST /search/'s answer. Next is empty on the last page.
type SearchAnswer struct {
	Results []SearchResult `json:"results"`
	Next    string         `json:"next"`
}

const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var req searchRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.refuse(w, r, Principal{}, "refused", "", "", http.StatusRequestEntityTooLarge, "request body over 1 MiB")
			return
		}
		s.refuse(w, r, Principal{}, "refused", "", "", http.StatusBadRequest, "bad search request: "+jsonProblem(err))
		return
	}
	p, ok := s.searchPrincipal(w, r, req.Token)
	if !ok {
		return
	}
	q, err := s.query(req, p)
	if err != nil {
		s.refuse(w, r, p, "search", req.ID, "", http.StatusBadRequest, err.Error())
		return
	}
	start := time.Now()
	rows, err := s.opt.Index.Search(r.Context(), q)
	s.metrics.search.Observe(time.Since(start).Seconds())
	if err != nil {
		s.log.Error("search failed", "err", safeErr(err))
		s.refuse(w, r, p, "search", req.ID, "", http.StatusInternalServerError, "the search index failed")
		return
	}
	s.audit(r, p, "search", req.ID, "", http.StatusOK)
	writeJSON(w, http.StatusOK, s.answer(r, p, rows, q.Limit))
}

// searchPrincipal authenticates a search: the token (body or Bearer), a
// user of the users file by HTTP Basic (for scripts; the page signs in),
// or else a web session.
func (s *Server) searchPrincipal(w http.ResponseWriter, r *http.Request, bodyToken string) (Principal, bool) {
	token := bodyToken
	if h := r.Header.Get("Authorization"); token == "" && strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimPrefix(h, "Bearer ")
	}
	if name, password, ok := r.BasicAuth(); token == "" && ok {
		// A browser adds Basic credentials it has cached (from /dav/, say)
		// to a cross-site form post too; a form cannot send this type
		// without a CORS preflight, which rcbs never grants.
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			s.refuse(w, r, Principal{}, "refused", "", "", http.StatusUnsupportedMediaType,
				"a search with HTTP Basic auth must send Content-Type: application/json")
			return Principal{}, false
		}
		return s.Authenticate(w, r, "search", func() (Principal, bool) { return s.opt.Users.Check(name, password) })
	}
	if token == "" && s.SessionPrincipal != nil {
		if p, ok := s.SessionPrincipal(r); ok {
			return p, true
		}
	}
	return s.Authenticate(w, r, "search", func() (Principal, bool) { return s.CheckToken(token) })
}

// jsonProblem describes a decoding error without echoing the body.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "not JSON"
	case errors.As(err, &typ):
		return "field " + typ.Field + " has the wrong type"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "not a search object"
}

func (s *Server) query(req searchRequest, p Principal) (archive.Query, error) {
	q := archive.Query{
		ID: req.ID, From: req.From.Time, To: req.To.Time, Agent: req.Agent, ANI: req.ANI, DNIS: req.DNIS,
		Direction: req.Direction, Access: p.Access, Limit: req.Limit,
	}
	switch {
	case q.Limit < 0:
		return q, errors.New("limit must be positive")
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit > MaxLimit:
		q.Limit = MaxLimit
	}
	if req.Cursor != "" {
		c, err := decodeCursor(req.Cursor)
		if err != nil {
			return q, err
		}
		q.After = &c
	}
	return q, nil
}

func encodeCursor(c archive.Cursor) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%s", c.Start, c.ID))
}

func decodeCursor(s string) (archive.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	ms, id, ok := bytes.Cut(b, []byte(":"))
	n, err2 := strconv.ParseInt(string(ms), 10, 64)
	if err != nil || !ok || err2 != nil {
		return archive.Cursor{}, errors.New("cursor is not one this service handed out")
	}
	return archive.Cursor{Start: n, ID: string(id)}, nil
}

func (s *Server) answer(r *http.Request, p Principal, rows []archive.Row, limit int) SearchAnswer {
	base := s.PublicBase(r)
	a := SearchAnswer{Results: make([]SearchResult, 0, len(rows))}
	for _, row := range rows {
		a.Results = append(a.Results, s.result(base, p, row))
	}
	if len(rows) == limit {
		last := rows[len(rows)-1]
		a.Next = encodeCursor(archive.Cursor{Start: last.Start.UnixMilli(), ID: last.ID})
	}
	return a
}

func (s *Server) result(base string, p Principal, row archive.Row) SearchResult {
	res := SearchResult{
		ID: row.ID, StartTime: row.Start.Format(timeFormat), DurationMs: row.Duration().Milliseconds(),
		Direction: row.Direction, ANI: row.ANI, DNIS: row.DNIS, Agents: row.Agents, Media: []MediaResult{},
	}
	if !row.Stop.IsZero() {
		res.StopTime = row.Stop.Format(timeFormat)
	}
	if res.Agents == nil {
		res.Agents = []string{}
	}
	for _, m := range row.Media {
		link, exp := s.links.Sign(MediaPath(row.ID, m.ID), p.Name)
		res.Media = append(res.Media, MediaResult{
			MediaID: m.ID, Type: m.Type, Size: m.Size, URL: base + link, Expires: exp.UTC().Format(time.RFC3339),
		})
	}
	zip, _ := s.links.Sign(ZipPath(row.ID), p.Name)
	meta, _ := s.links.Sign(MetadataPath(row.ID), p.Name)
	res.Zip, res.Metadata = base+zip, base+meta
	return res
}

// MediaPath, ZipPath and MetadataPath are the signed links' paths (spec §12).
func MediaPath(recordingID, mediaID string) string {
	return "/m/" + url.PathEscape(recordingID) + "/" + url.PathEscape(mediaID)
}

func ZipPath(recordingID string) string { return "/x/" + url.PathEscape(recordingID) + ".zip" }

func MetadataPath(recordingID string) string { return "/r/" + url.PathEscape(recordingID) + ".json" }

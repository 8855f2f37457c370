// Package serve is rcbs serve (spec §12): the archive's search API, signed
// links, media streaming with Range, health and metrics, behind token or
// users-file authentication, with every access in the audit log.
//
// Routes live in one table (Server.routes); the web page and WebDAV add
// theirs as further files with a func returning []Route. Authentication
// (Authenticate, the Limiter, Users, scopes) does not depend on how the
// credential arrived, so a cookie session reuses it.
package serve

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"time"

	"github.com/rcbs/rcbs/archive"
)

// Limits of every request (spec §12).
const (
	MaxBodyBytes      = 1 << 20
	MaxHeaderBytes    = 64 << 10
	ReadHeaderTimeout = 10 * time.Second
	IdleTimeout       = 60 * time.Second
	// AuthFailDelay is how long a wrong credential waits for its 401.
	AuthFailDelay = 150 * time.Millisecond
)

// Options are what New needs. Archives and Index list the same archives in
// the same order.
type Options struct {
	Archives       []string     // archive roots (targetDirs); never shown
	Index          *archive.Set // their indexes
	PublicURL      *url.URL     // nil: derived per request (trusted proxy headers, else Listen)
	Listen         string
	Token          string // the shared search token; "" disables it
	Users          *Users // nil: only the token
	Key            *rsa.PrivateKey
	Cert           *x509.Certificate
	LinkSecret     []byte // nil: drawn at start
	LinkTTL        time.Duration
	TrustedProxies []netip.Prefix
	Audit          *archive.Audit // nil: no audit (tests only)
	Log            *slog.Logger
	Now            func() time.Time
	FailDelay      time.Duration // 0: AuthFailDelay
	// ReadHeaderTimeout and IdleTimeout of HTTPServer; 0: the constants
	// (tests shorten them).
	ReadHeaderTimeout, IdleTimeout time.Duration
}

// Server holds what every handler shares. Safe for concurrent use.
type Server struct {
	opt     Options
	links   *Links
	limiter *Limiter
	metrics *metrics
	log     *slog.Logger
	now     func() time.Time
	extra   []Route
	seeks   *seekCache

	// SessionPrincipal, when set (by the web page), lets a signed-in
	// browser search without the token; ok false means no session.
	SessionPrincipal func(r *http.Request) (p Principal, ok bool)
	// WriteZip answers /x/<id>.zip (nil: 501).
	WriteZip WriteZip
}

// Route is one entry of the routing table. Pattern is a net/http
// ServeMux pattern with its method ("GET /health"); other methods on the
// path get 405. Name labels the metrics.
type Route struct {
	Pattern string
	Name    string
	Handler http.HandlerFunc
}

// New builds a server.
func New(opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.FailDelay == 0 {
		opt.FailDelay = AuthFailDelay
	}
	if opt.ReadHeaderTimeout == 0 {
		opt.ReadHeaderTimeout = ReadHeaderTimeout
	}
	if opt.IdleTimeout == 0 {
		opt.IdleTimeout = IdleTimeout
	}
	if opt.LinkTTL <= 0 {
		opt.LinkTTL = 15 * time.Minute
	}
	if opt.Index == nil || len(opt.Index.Indexes) != len(opt.Archives) {
		return nil, errors.New("serve: archives and indexes do not match")
	}
	links, err := NewLinks(opt.LinkSecret, opt.LinkTTL, opt.Now)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opt: opt, links: links, limiter: NewLimiter(opt.Now), metrics: newMetrics(),
		log: opt.Log, now: opt.Now, seeks: newSeekCache(),
	}
	return s, s.enableWeb() // the page, sign-in, /x/ zip and /dav/ (web.go)
}

// Links is the server's link signer.
func (s *Server) Links() *Links { return s.links }

// Limiter is the server's failed-authentication counter.
func (s *Server) Limiter() *Limiter { return s.limiter }

// Users is the users file, or nil.
func (s *Server) Users() *Users { return s.opt.Users }

// Index is the archives' index.
func (s *Server) Index() *archive.Set { return s.opt.Index }

// Archives are the archive roots, in Index order (never shown to a client).
func (s *Server) Archives() []string { return s.opt.Archives }

// Key and Cert are serveDecryptionKey and its certificate (nil when unset).
func (s *Server) Key() (*rsa.PrivateKey, *x509.Certificate) { return s.opt.Key, s.opt.Cert }

// Log is the server's logger; nothing logged may hold a path, key or token.
func (s *Server) Log() *slog.Logger { return s.log }

// Audit writes one audit line for r (sign-in, WebDAV, export).
func (s *Server) Audit(r *http.Request, p Principal, action, recID, mediaID string, status int) {
	s.audit(r, p, action, recID, mediaID, status)
}

// Refuse answers code with a JSON error message and audits it.
func (s *Server) Refuse(w http.ResponseWriter, r *http.Request, p Principal, action, recID, mediaID string, code int, msg string) {
	s.refuse(w, r, p, action, recID, mediaID, code, msg)
}

// AddRoutes adds routes before Handler is called.
func (s *Server) AddRoutes(r ...Route) { s.extra = append(s.extra, r...) }

// routes is the routing table.
func (s *Server) routes() []Route {
	return slices.Concat(s.apiRoutes(), s.linkRoutes(), s.opsRoutes(), s.extra)
}

// Handler is the whole service with its per-request limits.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range s.routes() {
		mux.Handle(r.Pattern, s.instrument(r.Name, r.Handler))
	}
	return s.limitBody(mux)
}

// HTTPServer is an http.Server with spec §12's limits.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		MaxHeaderBytes:    MaxHeaderBytes,
		ReadHeaderTimeout: s.opt.ReadHeaderTimeout,
		IdleTimeout:       s.opt.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// limitBody answers 413 to a declared body over the limit and caps the
// rest (a read past it fails; handlers answer 413 then).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			s.refuse(w, r, Principal{}, "refused", "", "", http.StatusRequestEntityTooLarge, "request body over 1 MiB")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status and counts the bytes of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) instrument(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			s.metrics.request(name, sw.status, sw.bytes)
		}()
		h.ServeHTTP(sw, r)
	})
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // links keep their & (the type is application/json, never HTML)
	enc.Encode(v)
}

// errorBody is every error answer: a message that names no path, key or token.
type errorBody struct {
	Error string `json:"error"`
}

// audit writes one audit line; a failure to write it is logged (without
// the event's details beyond the action).
func (s *Server) audit(r *http.Request, p Principal, action, recID, mediaID string, status int) {
	if s.opt.Audit == nil {
		return
	}
	err := s.opt.Audit.Log(archive.AuditEvent{
		User: p.Name, Addr: s.ClientAddr(r), Action: action, RecordingID: recID, MediaID: mediaID, Status: status,
	})
	if err != nil {
		s.log.Error("audit log write failed", "action", action)
	}
}

// refuse answers an error and audits it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, p Principal, action, recID, mediaID string, code int, msg string) {
	s.audit(r, p, action, recID, mediaID, code)
	writeJSON(w, code, errorBody{Error: msg})
}

// Authenticate runs check for a request unless its address is blocked
// (429). A failed check is counted against the address and answered 401
// after the fixed delay, which sleeps only this request's goroutine.
// On false the answer has been written and audited.
func (s *Server) Authenticate(w http.ResponseWriter, r *http.Request, action string, check func() (Principal, bool)) (Principal, bool) {
	addr := s.ClientAddr(r)
	if s.limiter.Blocked(addr) {
		s.metrics.authFailures.Inc()
		s.refuse(w, r, Principal{}, "refused", "", "", http.StatusTooManyRequests, "too many failed authentications from this address; try again later")
		return Principal{}, false
	}
	p, ok := check()
	if ok {
		return p, true
	}
	s.limiter.Fail(addr)
	s.metrics.authFailures.Inc()
	s.sleep(r.Context(), s.opt.FailDelay)
	s.refuse(w, r, Principal{}, "refused", "", "", http.StatusUnauthorized, "authentication failed")
	return Principal{}, false
}

func (s *Server) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// CheckToken maps the shared token to its principal.
func (s *Server) CheckToken(token string) (Principal, bool) {
	if tokenMatches(token, s.opt.Token) {
		return Principal{Name: TokenUser}, true
	}
	return Principal{}, false
}

// principalOf is a link's user as it stands now: the token's scope is *,
// a user's is read again from the users file; a user who is gone is refused.
func (s *Server) principalOf(name string) (Principal, bool) {
	if name == TokenUser {
		return Principal{Name: TokenUser}, s.opt.Token != ""
	}
	return s.opt.Users.Lookup(name)
}

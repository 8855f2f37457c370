package serve

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"
)

// The web page (spec §12 `/`): HTML, CSS and a little JavaScript from
// serve/web, embedded; no external asset, no build step.
//
//go:embed web
var webFiles embed.FS

// Cookies of the page. The session is stateless: "exp, user, sig" signed
// like a link over the path /session (no link has that path, so neither
// can stand in for the other), so several instances sharing
// RCBS_SERVE_LINK_SECRET honour each other's sessions. Sign-out revokes
// the cookie in this process (and clears it in the browser).
const (
	SessionCookie = "rcbs_session"
	CSRFCookie    = "rcbs_csrf"
	// SessionTTL is a session's lifetime: a working shift.
	SessionTTL  = 8 * time.Hour
	sessionPath = "/session"
)

// contentSecurityPolicy: only this origin's script, style, media and
// fetches; no inline script or style; never framed.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// web holds the page's state: the session signer, revoked sessions and
// the parsed page. Safe for concurrent use.
type web struct {
	s        *Server
	sessions *Links
	page     *template.Template
	static   fs.FS

	mu      sync.Mutex
	revoked map[string]time.Time // session signature → its expiry
}

// enableWeb adds the page, sign-in, the zip and WebDAV to s.
func (s *Server) enableWeb() error {
	sessions, err := NewLinks(s.opt.LinkSecret, SessionTTL, s.now)
	if err != nil {
		return err
	}
	page, err := template.ParseFS(webFiles, "web/index.html")
	if err != nil {
		return err
	}
	static, _ := fs.Sub(webFiles, "web")
	w := &web{s: s, sessions: sessions, page: page, static: static, revoked: map[string]time.Time{}}
	s.SessionPrincipal = w.searchPrincipal
	s.WriteZip = s.exportZip
	s.AddRoutes(
		Route{"GET /{$}", "page", w.index},
		Route{"GET /static/{file}", "static", w.asset},
		Route{"POST /signin", "signin", w.signin},
		Route{"POST /signout", "signout", w.signout},
		Route{"/dav/", "dav", s.dav},
	)
	return nil
}

// securityHeaders go on every answer of the page.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// Links carry their signature in the query: never send them on.
	h.Set("Referrer-Policy", "no-referrer")
}

func (w *web) index(rw http.ResponseWriter, r *http.Request) {
	securityHeaders(rw.Header())
	rw.Header().Set("Cache-Control", "no-store")
	token := w.csrfToken(rw, r)
	var user string
	if p, ok := w.session(r); ok {
		user = p.Name
	}
	var buf bytes.Buffer
	if err := w.page.Execute(&buf, struct{ CSRF, User string }{token, user}); err != nil {
		http.Error(rw, "page error", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Write(buf.Bytes())
}

func (w *web) asset(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" || strings.Contains(name, "/") {
		http.NotFound(rw, r)
		return
	}
	data, err := fs.ReadFile(w.static, name)
	if err != nil {
		http.NotFound(rw, r)
		return
	}
	securityHeaders(rw.Header())
	rw.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	rw.Header().Set("Cache-Control", "no-cache")
	rw.Write(data)
}

// csrfToken is the double-submit token: the cookie's value when it has
// one of the right shape, else a fresh one set as the cookie.
func (w *web) csrfToken(rw http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(CSRFCookie); err == nil && validCSRF(c.Value) {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(rw, w.cookie(r, CSRFCookie, token, 0))
	return token
}

func validCSRF(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

// csrfOK checks a submitted token against the cookie (double submit).
func csrfOK(r *http.Request, submitted string) bool {
	c, err := r.Cookie(CSRFCookie)
	return err == nil && validCSRF(c.Value) && subtle.ConstantTimeCompare([]byte(c.Value), []byte(submitted)) == 1
}

// cookie makes one of the page's cookies: HttpOnly, SameSite=Strict,
// Secure when the page is reached over HTTPS; maxAge < 0 deletes it.
func (w *web) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || strings.HasPrefix(w.s.PublicBase(r), "https://"),
	}
}

func (w *web) signin(rw http.ResponseWriter, r *http.Request) {
	securityHeaders(rw.Header())
	if !csrfOK(r, r.PostFormValue("csrf")) {
		w.s.refuse(rw, r, Principal{}, "refused", "", "", http.StatusForbidden, "the sign-in form is stale: reload the page")
		return
	}
	name, password := r.PostFormValue("user"), r.PostFormValue("password")
	p, ok := w.s.Authenticate(rw, r, "signin", func() (Principal, bool) { return w.s.opt.Users.Check(name, password) })
	if !ok {
		return
	}
	signed, _ := w.sessions.Sign(sessionPath, p.Name)
	_, query, _ := strings.Cut(signed, "?")
	http.SetCookie(rw, w.cookie(r, SessionCookie, query, int(SessionTTL/time.Second)))
	w.s.audit(r, p, "signin", "", "", http.StatusSeeOther)
	http.Redirect(rw, r, "/", http.StatusSeeOther)
}

func (w *web) signout(rw http.ResponseWriter, r *http.Request) {
	securityHeaders(rw.Header())
	if !csrfOK(r, r.PostFormValue("csrf")) {
		w.s.refuse(rw, r, Principal{}, "refused", "", "", http.StatusForbidden, "the sign-out form is stale: reload the page")
		return
	}
	if p, ok := w.session(r); ok {
		w.revoke(r)
		w.s.audit(r, p, "signout", "", "", http.StatusSeeOther)
	}
	http.SetCookie(rw, w.cookie(r, SessionCookie, "", -1))
	http.Redirect(rw, r, "/", http.StatusSeeOther)
}

// session is the signed-in user of a request, with their scope as the
// users file says now; a user removed from the file is signed out.
func (w *web) session(r *http.Request) (Principal, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || w.s.opt.Users == nil {
		return Principal{}, false
	}
	q, err := url.ParseQuery(c.Value)
	if err != nil {
		return Principal{}, false
	}
	name, status := w.sessions.Verify(sessionPath, q)
	if status != 0 || name == TokenUser || w.isRevoked(q.Get("sig")) {
		return Principal{}, false
	}
	return w.s.opt.Users.Lookup(name)
}

// searchPrincipal is the session of a POST /search/ that carries the
// X-CSRF-Token header matching its cookie.
func (w *web) searchPrincipal(r *http.Request) (Principal, bool) {
	if !csrfOK(r, r.Header.Get("X-CSRF-Token")) {
		return Principal{}, false
	}
	return w.session(r)
}

func (w *web) revoke(r *http.Request) {
	c, _ := r.Cookie(SessionCookie)
	q, _ := url.ParseQuery(c.Value)
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.s.now()
	for sig, exp := range w.revoked {
		if now.After(exp) {
			delete(w.revoked, sig)
		}
	}
	w.revoked[q.Get("sig")] = now.Add(SessionTTL)
}

func (w *web) isRevoked(sig string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.revoked[sig]
	return ok
}

package serve

import (
	"net/http"
	"path"
	"strings"

	"github.com/rcbs/rcbs/internal/davfs"
)

// dav serves /dav/ (spec §12): the archive tree as stored, read-only, for
// users of the users file with scope * over HTTP Basic auth. A request
// without credentials is a client's first probe: it gets the 401 challenge
// without counting as a failure; a wrong password counts against the
// address like any failed authentication; a right one with a narrower
// scope is 403 (the tree cannot be filtered by access list).
//
// The archives are opened per request (a few open calls), so an archive
// folder made after start is served and nothing stays open. Downloads and
// refusals are audited; PROPFIND listings are not (a client lists every
// folder it walks).
func (s *Server) dav(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Basic realm="rcbs archive", charset="UTF-8"`)
	name, password, hasAuth := r.BasicAuth()
	if !hasAuth && !s.limiter.Blocked(s.ClientAddr(r)) {
		s.refuse(w, r, Principal{}, "refused", "", "", http.StatusUnauthorized, "sign in with a user of scope *")
		return
	}
	p, ok := s.Authenticate(w, r, "dav", func() (Principal, bool) { return s.opt.Users.Check(name, password) })
	if !ok {
		return
	}
	if !p.All() {
		s.refuse(w, r, p, "refused", "", "", http.StatusForbidden, "WebDAV needs scope *")
		return
	}
	w.Header().Del("WWW-Authenticate")
	fs, err := davfs.New(s.opt.Archives)
	if err != nil {
		s.log.Error("webdav: archive not readable", "err", safeErr(err))
		s.refuse(w, r, p, "refused", "", "", http.StatusServiceUnavailable, "archive not readable")
		return
	}
	defer fs.Close()
	sw := &statusWriter{ResponseWriter: w}
	davfs.Handler("/dav", fs, nil).ServeHTTP(sw, r)
	if r.Method == http.MethodGet || sw.status >= 400 {
		rid, mid := davIDs(r.URL.Path)
		action := "download"
		if sw.status >= 400 {
			action = "refused"
		}
		s.audit(r, p, action, rid, mid, sw.status)
	}
}

// davIDs guesses the recording and media of a path /dav/…/<id>/<mediaId>.bin
// for the audit line.
func davIDs(p string) (recordingID, mediaID string) {
	file := path.Base(p)
	if m, ok := strings.CutSuffix(file, ".bin"); ok {
		return path.Base(path.Dir(p)), m
	}
	if file == "recording.json" {
		return path.Base(path.Dir(p)), ""
	}
	return "", ""
}

package serve

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
)

func (s *Server) linkRoutes() []Route {
	return []Route{
		{"GET /m/{rid}/{mid}", "media", s.media},
		{"GET /r/{file}", "metadata", s.metadata},
		{"GET /x/{file}", "zip", s.zip},
	}
}

// Linked is a request whose signed link checked out: who it acts for (as
// the users file says now), the recording, and the recording's folder on
// disk (never shown).
type Linked struct {
	Principal Principal
	Row       archive.Row
	Folder    string
}

// WriteZip, when set (by the export package's glue), answers GET
// /x/<id>.zip for a checked link; unset, the route answers 501.
type WriteZip func(w http.ResponseWriter, r *http.Request, l Linked) error

// OpenLink checks a signed link for path (the canonical escaped path) and
// the recording it names: 403 tampered, 410 expired, 403 when the link's
// user no longer exists or the recording is outside the user's scope
// (re-checked on every request), 404 when the recording is not indexed.
// On false the answer is written and audited.
func (s *Server) OpenLink(w http.ResponseWriter, r *http.Request, path, action, recID, mediaID string) (Linked, bool) {
	name, status := s.links.Verify(path, r.URL.Query())
	switch status {
	case http.StatusGone:
		s.refuse(w, r, Principal{Name: name}, "refused", recID, mediaID, status, "link expired")
		return Linked{}, false
	case http.StatusForbidden:
		s.refuse(w, r, Principal{}, "refused", recID, mediaID, status, "link not valid")
		return Linked{}, false
	}
	p, ok := s.principalOf(name)
	if !ok {
		s.refuse(w, r, Principal{Name: name}, "refused", recID, mediaID, http.StatusForbidden, "link not valid")
		return Linked{}, false
	}
	row, err := s.opt.Index.Get(r.Context(), recID)
	if errors.Is(err, archive.ErrNotIndexed) {
		s.refuse(w, r, p, action, recID, mediaID, http.StatusNotFound, "no such recording")
		return Linked{}, false
	}
	if err != nil {
		s.log.Error("index lookup failed", "recording", recID, "err", safeErr(err))
		s.refuse(w, r, p, action, recID, mediaID, http.StatusInternalServerError, "the search index failed")
		return Linked{}, false
	}
	if !p.Access.Allows(row) {
		s.refuse(w, r, p, "refused", recID, mediaID, http.StatusForbidden, "outside your access list")
		return Linked{}, false
	}
	folder, ok := s.folderOf(row)
	if !ok {
		s.refuse(w, r, p, action, recID, mediaID, http.StatusNotFound, "no such recording")
		return Linked{}, false
	}
	return Linked{Principal: p, Row: row, Folder: folder}, true
}

// folderOf is a row's folder on disk, refusing a folder that would leave
// the archive (a hand-edited index).
func (s *Server) folderOf(row archive.Row) (string, bool) {
	if row.Archive < 0 || row.Archive >= len(s.opt.Archives) || !filepath.IsLocal(filepath.FromSlash(row.Dir)) {
		return "", false
	}
	return filepath.Join(s.opt.Archives[row.Archive], filepath.FromSlash(row.Dir)), true
}

// ValidID is spec §6's rule for recording and media ids: not empty, at
// most 255 bytes, no /, \, .., NUL or control characters.
func ValidID(id string) bool {
	if id == "" || len(id) > 255 || strings.Contains(id, "..") || strings.ContainsAny(id, `/\`) {
		return false
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// badID answers a path whose id breaks ValidID, without echoing it.
func (s *Server) badID(w http.ResponseWriter, r *http.Request) {
	s.refuse(w, r, Principal{}, "refused", "", "", http.StatusBadRequest, "not a valid recording or media id")
}

func (s *Server) media(w http.ResponseWriter, r *http.Request) {
	rid, mid := r.PathValue("rid"), r.PathValue("mid")
	if !ValidID(rid) || !ValidID(mid) {
		s.badID(w, r)
		return
	}
	l, ok := s.OpenLink(w, r, MediaPath(rid, mid), "play", rid, mid)
	if !ok {
		return
	}
	var m *archive.Media
	for i := range l.Row.Media {
		if l.Row.Media[i].ID == mid {
			m = &l.Row.Media[i]
		}
	}
	if m == nil {
		s.refuse(w, r, l.Principal, "play", rid, mid, http.StatusNotFound, "no such media")
		return
	}
	f, err := os.Open(filepath.Join(l.Folder, mid+".bin"))
	if err != nil {
		s.refuse(w, r, l.Principal, "play", rid, mid, http.StatusNotFound, "media file not in the archive")
		return
	}
	defer f.Close()
	status := s.streamMedia(w, r, f, m.Type, rid)
	s.audit(r, l.Principal, "play", rid, mid, status)
}

// streamMedia answers the media with Range support; it returns the status
// sent. Without a key the stored bytes go out as application/pkcs7-mime.
func (s *Server) streamMedia(w http.ResponseWriter, r *http.Request, f *os.File, typ, rid string) int {
	sw := &statusWriter{ResponseWriter: w}
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	fi, err := f.Stat()
	if err != nil {
		writeJSON(sw, http.StatusInternalServerError, errorBody{Error: "media file unreadable"})
		return sw.status
	}
	if s.opt.Key == nil {
		h.Set("Content-Type", "application/pkcs7-mime")
		http.ServeContent(sw, r, "", time.Time{}, f)
		return sw.status
	}
	seek, err := s.seeks.open(idOf(f.Name(), fi), f, func() (*cms.Seekable, error) {
		return cms.OpenSeekable(f, fi.Size(), s.opt.Key, s.opt.Cert)
	})
	switch {
	case errors.Is(err, cms.ErrNotSeekable):
		return s.streamWhole(sw, r, f, typ, rid)
	case errors.Is(err, cms.ErrNotCMS):
		// Stored in plain text by the cloud (not every media is encrypted).
		h.Set("Content-Type", safeType(typ))
		http.ServeContent(sw, r, "", time.Time{}, f)
		return sw.status
	case err != nil:
		s.log.Error("media could not be decrypted", "recording", rid, "err", safeErr(err))
		writeJSON(sw, http.StatusInternalServerError, errorBody{Error: "the media could not be decrypted"})
		return sw.status
	}
	h.Set("Content-Type", safeType(typ))
	http.ServeContent(sw, r, "", time.Time{}, io.NewSectionReader(seek, 0, seek.Size()))
	return sw.status
}

// streamWhole decrypts a BER-chunked file from the start (no Range: its
// offsets are unknown without reading every chunk header). A failure after
// the first byte aborts the connection, so the client sees a truncated
// answer, never a complete-looking one.
func (s *Server) streamWhole(sw *statusWriter, r *http.Request, f *os.File, typ, rid string) int {
	sw.Header().Set("Content-Type", safeType(typ))
	sw.Header().Set("Accept-Ranges", "none")
	if r.Method == http.MethodHead {
		sw.WriteHeader(http.StatusOK)
		return sw.status
	}
	if err := cms.Decrypt(sw, f, s.opt.Key, s.opt.Cert); err != nil {
		s.log.Error("media could not be decrypted", "recording", rid, "err", safeErr(err))
		if sw.status == 0 {
			writeJSON(sw, http.StatusInternalServerError, errorBody{Error: "the media could not be decrypted"})
			return sw.status
		}
		panic(http.ErrAbortHandler)
	}
	return sw.status
}

// safeType is the media's type when it is audio or video, else
// application/octet-stream: a type from the metadata must never make the
// browser run our origin's HTML or script.
func safeType(typ string) string {
	mt, _, err := mime.ParseMediaType(typ)
	if err == nil && (strings.HasPrefix(mt, "audio/") || strings.HasPrefix(mt, "video/")) {
		return typ
	}
	return "application/octet-stream"
}

// recordingLink checks /r/<id>.json and /x/<id>.zip links: the file name
// is the id and suffix.
func (s *Server) recordingLink(w http.ResponseWriter, r *http.Request, suffix string, path func(string) string, action string) (string, Linked, bool) {
	rid, ok := strings.CutSuffix(r.PathValue("file"), suffix)
	if !ok || !ValidID(rid) {
		s.badID(w, r)
		return "", Linked{}, false
	}
	l, ok := s.OpenLink(w, r, path(rid), action, rid, "")
	return rid, l, ok
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	rid, l, ok := s.recordingLink(w, r, ".json", MetadataPath, "download")
	if !ok {
		return
	}
	f, err := os.Open(filepath.Join(l.Folder, archive.RecordingFile))
	if err != nil {
		s.refuse(w, r, l.Principal, "download", rid, "", http.StatusNotFound, "recording.json not in the archive")
		return
	}
	defer f.Close()
	sw := &statusWriter{ResponseWriter: w}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rid+".json"))
	http.ServeContent(sw, r, "", time.Time{}, f)
	s.audit(r, l.Principal, "download", rid, "", sw.status)
}

func (s *Server) zip(w http.ResponseWriter, r *http.Request) {
	rid, l, ok := s.recordingLink(w, r, ".zip", ZipPath, "export")
	if !ok {
		return
	}
	if s.WriteZip == nil {
		s.refuse(w, r, l.Principal, "export", rid, "", http.StatusNotImplemented, "zip export is not available in this build")
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	if err := s.WriteZip(sw, r, l); err != nil {
		s.log.Error("zip failed", "recording", rid, "err", safeErr(err))
		if sw.status == 0 {
			s.refuse(w, r, l.Principal, "export", rid, "", http.StatusInternalServerError, "the zip could not be made")
			return
		}
		s.audit(r, l.Principal, "export", rid, "", http.StatusInternalServerError)
		panic(http.ErrAbortHandler)
	}
	s.audit(r, l.Principal, "export", rid, "", sw.status)
}

// safeErr is an error's text without any file path (spec §12: no path in
// a log line): a *fs.PathError keeps only its operation and cause.
func safeErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

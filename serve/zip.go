package serve

import (
	"fmt"
	"net/http"

	"github.com/rcbs/rcbs/export"
)

// exportZip answers /x/<id>.zip with spec §15's zip for one recording, the
// same writer as rcbs export: media decrypted when the server has the key.
// It streams; a failure after the first byte makes the route abort the
// connection, so a client never keeps a complete-looking zip.
func (s *Server) exportZip(w http.ResponseWriter, r *http.Request, l Linked) error {
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", l.Row.ID+".zip"))
	zw := export.NewWriter(w, export.Options{Key: s.opt.Key, Cert: s.opt.Cert, Now: s.now()})
	defer zw.Abort()
	_, err := zw.Add(r.Context(), l.Folder)
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		// Nothing sent yet (the zip buffers its start): the route answers
		// an error, which must not arrive as an attachment named .zip.
		h.Del("Content-Disposition")
	}
	return err
}

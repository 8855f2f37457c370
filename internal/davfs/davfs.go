// Package davfs is the archive as read-only WebDAV (spec §12 `/dav/`): the
// recording tree as stored (.bin files and recording.json), for WinSCP,
// davfs2, Windows Explorer and rclone. Serve mounts Handler behind its own
// authentication; this package knows nothing of users.
//
// Several archives (one targetDir per instance) are shown as one tree:
// instances split recordings by id, not by date, so their yyyy/MM/dd/HH
// folders overlap and a day's folder holds the day's recordings of every
// instance, which is what a person fetching "the 12th" expects. Where two
// archives hold the same file name (never, for distinct ids) the first
// archive given wins.
//
// Hidden, and 404 when asked for by name: every name beginning with
// ".rcbs" (the bookkeeping folder .rcbs/, the lock .rcbs.lock, temporary
// files .rcbs-tmp-*, legal-hold markers) and the files at the top of a
// targetDir (the state file). Each archive is opened as an os.Root, so a
// symbolic link cannot lead out of it.
package davfs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/webdav"
)

// FS is a read-only webdav.FileSystem over one or more archive roots.
// Safe for concurrent use.
type FS struct {
	roots []*os.Root
}

// New opens the archive roots.
func New(dirs []string) (*FS, error) {
	f := &FS{}
	for _, d := range dirs {
		r, err := os.OpenRoot(d)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.roots = append(f.roots, r)
	}
	return f, nil
}

// Close releases the roots.
func (f *FS) Close() error {
	var errs []error
	for _, r := range f.roots {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// rel turns a WebDAV name ("/2018/02") into a root-relative one ("2018/02",
// "." for the top), or reports that it is hidden.
func rel(name string) (string, bool) {
	clean := strings.TrimPrefix(path.Clean("/"+name), "/")
	if clean == "" {
		return ".", true
	}
	for _, part := range strings.Split(clean, "/") {
		if hiddenName(part) {
			return "", false
		}
	}
	return clean, true
}

func hiddenName(name string) bool { return strings.HasPrefix(name, ".rcbs") }

const writeFlags = os.O_WRONLY | os.O_RDWR | os.O_CREATE | os.O_TRUNC | os.O_APPEND

// OpenFile opens a file or folder for reading; any write flag is refused.
func (f *FS) OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (webdav.File, error) {
	if flag&writeFlags != 0 {
		return nil, fs.ErrPermission
	}
	r, ok := rel(name)
	if !ok {
		return nil, fs.ErrNotExist
	}
	info, dirs, err := f.lookup(r)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return &dir{fs: f, rel: r, info: info, roots: dirs}, nil
	}
	file, err := dirs[0].Open(r)
	if err != nil {
		return nil, err
	}
	return readOnly{file}, nil
}

// Stat describes a file or folder.
func (f *FS) Stat(ctx context.Context, name string) (os.FileInfo, error) {
	r, ok := rel(name)
	if !ok {
		return nil, fs.ErrNotExist
	}
	info, _, err := f.lookup(r)
	return info, err
}

// lookup finds r: for a folder, every root that has it; for a file, the
// first root that has it (files at the top of a root are not shown).
func (f *FS) lookup(r string) (os.FileInfo, []*os.Root, error) {
	var first os.FileInfo
	var found []*os.Root
	for _, root := range f.roots {
		info, err := root.Stat(r)
		switch {
		case err != nil:
			continue
		case !info.IsDir() && !strings.Contains(r, "/"):
			continue
		case first == nil:
			first = info
		case !info.IsDir() || !first.IsDir():
			continue
		}
		found = append(found, root)
		if !info.IsDir() {
			break
		}
	}
	if first == nil {
		return nil, nil, fs.ErrNotExist
	}
	return first, found, nil
}

// Mkdir refuses: the archive is read-only here.
func (f *FS) Mkdir(context.Context, string, os.FileMode) error { return fs.ErrPermission }

// RemoveAll refuses.
func (f *FS) RemoveAll(context.Context, string) error { return fs.ErrPermission }

// Rename refuses.
func (f *FS) Rename(context.Context, string, string) error { return fs.ErrPermission }

// readOnly is a file that cannot be written.
type readOnly struct{ *os.File }

func (readOnly) Write([]byte) (int, error) { return 0, fs.ErrPermission }

// dir is a folder merged across the roots that hold it.
type dir struct {
	fs      *FS
	rel     string
	info    os.FileInfo
	roots   []*os.Root
	entries []os.FileInfo // nil until the first Readdir
	pos     int
}

func (d *dir) Close() error                   { return nil }
func (d *dir) Read([]byte) (int, error)       { return 0, errors.New("is a folder") }
func (d *dir) Write([]byte) (int, error)      { return 0, fs.ErrPermission }
func (d *dir) Seek(int64, int) (int64, error) { return 0, nil }
func (d *dir) Stat() (os.FileInfo, error)     { return d.info, nil }

// Readdir lists the folder as os.File.Readdir does: count > 0 pages with
// io.EOF at the end, count <= 0 returns the rest.
func (d *dir) Readdir(count int) ([]os.FileInfo, error) {
	if d.entries == nil {
		entries, err := d.list()
		if err != nil {
			return nil, err
		}
		d.entries = entries
	}
	rest := d.entries[d.pos:]
	if count <= 0 {
		d.pos = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n := min(count, len(rest))
	d.pos += n
	return rest[:n], nil
}

// list merges the folder's entries across roots, without hidden names.
func (d *dir) list() ([]os.FileInfo, error) {
	seen := map[string]bool{}
	entries := []os.FileInfo{}
	for _, root := range d.roots {
		f, err := root.Open(d.rel)
		if err != nil {
			return nil, err
		}
		infos, err := f.Readdir(-1)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, info := range infos {
			name := info.Name()
			if seen[name] || hiddenName(name) || (d.rel == "." && !info.IsDir()) {
				continue
			}
			seen[name] = true
			entries = append(entries, info)
		}
	}
	slices.SortFunc(entries, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// refuseLocks is a LockSystem that grants nothing: nothing here is
// written, so nothing needs a lock.
type refuseLocks struct{}

func (refuseLocks) Confirm(time.Time, string, string, ...webdav.Condition) (func(), error) {
	return nil, webdav.ErrConfirmationFailed
}
func (refuseLocks) Create(time.Time, webdav.LockDetails) (string, error) {
	return "", webdav.ErrLocked
}
func (refuseLocks) Refresh(time.Time, string, time.Duration) (webdav.LockDetails, error) {
	return webdav.LockDetails{}, webdav.ErrNoSuchLock
}
func (refuseLocks) Unlock(time.Time, string) error { return webdav.ErrNoSuchLock }

// Handler serves fs read-only under prefix (e.g. "/dav"). The write
// methods (PUT, DELETE, MKCOL, MOVE, COPY, PROPPATCH, LOCK, UNLOCK) are
// 403; other methods but GET, HEAD, OPTIONS and PROPFIND are 405.
// PROPFIND with "Depth: infinity" (or no Depth, which means the same) is
// 403, as Apache's mod_dav does by default: one request must not walk an
// archive of a million recordings; clients list folder by folder (Depth 1).
// logf, when not nil, receives webdav's errors.
func Handler(prefix string, fs *FS, logf func(r *http.Request, err error)) http.Handler {
	h := &webdav.Handler{Prefix: prefix, FileSystem: fs, LockSystem: refuseLocks{}, Logger: logf}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			h.ServeHTTP(w, r)
		case "PROPFIND":
			if d := r.Header.Get("Depth"); d != "0" && d != "1" {
				http.Error(w, "PROPFIND needs Depth: 0 or 1 here", http.StatusForbidden)
				return
			}
			h.ServeHTTP(w, r)
		case http.MethodOptions:
			w.Header().Set("Allow", "OPTIONS, GET, HEAD, PROPFIND")
			w.Header().Set("DAV", "1")
			w.Header().Set("MS-Author-Via", "DAV")
		case http.MethodPut, http.MethodDelete, "MKCOL", "MOVE", "COPY", "PROPPATCH", "LOCK", "UNLOCK":
			http.Error(w, "read-only: the archive is not changed over WebDAV", http.StatusForbidden)
		default:
			w.Header().Set("Allow", "OPTIONS, GET, HEAD, PROPFIND")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}
